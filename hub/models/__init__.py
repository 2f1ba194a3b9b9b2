"""The hub's data, by topic. Importing this package registers every table."""

from hub.models.base import iso, utcnow
from hub.models.deliveries import OutboxEntry, WebhookClaim, WebhookDelivery
from hub.models.inbound import CHANGE_STATES, InboundChange
from hub.models.integrations import (
    SYNC_CONFIG_KEYS,
    ExternalIssue,
    GroupLink,
    Identity,
    Integration,
    IntegrationExternalProject,
    OrganizationIntegration,
)
from hub.models.issues import STATUSES, Activity, Event, EventAttachment, Group, GroupAssignee
from hub.models.keys import KeyCheck
from hub.models.notifications import AlertRule, NotificationMessage
from hub.models.orgs import (
    ROLES,
    ApiToken,
    Environment,
    InviteRequest,
    MemberInvitation,
    Organization,
    OrganizationMember,
    Project,
    ProjectKey,
    Release,
    User,
    member_projects,
)

__all__ = [
    "CHANGE_STATES", "InboundChange", "WebhookClaim",
    "ROLES", "STATUSES", "SYNC_CONFIG_KEYS", "Activity", "AlertRule", "ApiToken", "Environment", "Event",
    "EventAttachment",
    "ExternalIssue", "Group", "GroupAssignee", "GroupLink", "Identity", "Integration",
    "IntegrationExternalProject", "InviteRequest", "KeyCheck", "MemberInvitation", "NotificationMessage",
    "Organization",
    "OrganizationIntegration", "OrganizationMember", "OutboxEntry", "Project", "ProjectKey", "Release",
    "User", "WebhookDelivery", "iso", "member_projects", "utcnow",
]
