"""Turn rows into the frozen values plugins receive (:mod:`hub.types`)."""

from __future__ import annotations

from typing import Any, NamedTuple, overload

from flask import current_app
from sqlalchemy import Row

from hub import models as m
from hub import types as t
from hub.crypto import decrypt_json
from hub.models.base import iso


@overload
def user(row: m.User) -> t.User: ...
@overload
def user(row: None) -> None: ...
@overload
def user(row: m.User | None) -> t.User | None: ...
def user(row: m.User | None) -> t.User | None:
    if row is None:
        return None
    return t.User(id=str(row.id), email=row.email, name=row.name or "")


def group_url(org_slug: str, group_id: int) -> str:
    return f"{current_app.config['HUB_BASE_URL']}/organizations/{org_slug}/issues/{group_id}/"


def group(row: m.Group) -> t.Group:
    org_slug = row.project.organization.slug
    return t.Group(
        id=str(row.id),
        short_id=row.short_id,
        title=row.title,
        culprit=row.culprit or "",
        status=row.status,
        project_id=str(row.project_id),
        organization_id=str(row.organization_id),
        url=group_url(org_slug, row.id),
        level=row.level,
        project_slug=row.project.slug,
        organization_slug=org_slug,
        count=row.times_seen,
        first_seen=iso(row.first_seen) or "",
        last_seen=iso(row.last_seen) or "",
        assignee=user(row.assignee.user) if row.assignee else None,
    )


class IntegrationColumns(NamedTuple):
    """The columns of an integration a webhook's verifier reads (no ORM load)."""

    id: int
    provider: str
    external_id: str
    name: str
    metadata_encrypted: str
    status: str


def integration(row: m.Integration | Row[*tuple[Any, ...]] | IntegrationColumns,
                org_integration: m.OrganizationIntegration | None = None) -> t.Integration:
    """``row``: the model, or its columns (the webhook verifiers' lookup)."""
    return t.Integration(
        id=str(row.id),
        provider=row.provider,
        external_id=row.external_id,
        name=row.name,
        metadata=decrypt_json(row.metadata_encrypted, default={}),
        organization_id=str(org_integration.organization_id) if org_integration else None,
        config=dict(org_integration.config or {}) if org_integration else {},
        status=org_integration.status if org_integration else row.status,
    )


def external_issue(row: m.ExternalIssue) -> t.ExternalIssue:
    return t.ExternalIssue(
        id=str(row.id),
        key=row.key,
        integration_id=str(row.integration_id),
        organization_id=str(row.organization_id),
        title=row.title or "",
        url=row.url or "",
        metadata=dict(row.metadata_ or {}),
    )


def event(row: m.Event) -> t.Event:
    return t.Event(
        id=str(row.id),
        event_id=row.event_id,
        group_id=str(row.group_id),
        message=row.message,
        level=row.level,
        culprit=row.culprit or "",
        release=row.release,
        environment=row.environment,
        tags=dict(row.tags or {}),
        timestamp=iso(row.timestamp) or "",
    )


def activity(row: m.Activity) -> t.Activity:
    return t.Activity(
        id=str(row.id),
        type=row.type,
        group_id=str(row.group_id),
        user=user(row.user),
        data=dict(row.data or {}),
        date_created=iso(row.date_created) or "",
    )


def rule(row: m.AlertRule) -> t.Rule:
    return t.Rule(id=str(row.id), name=row.name, project_id=str(row.project_id))


def parent(row: m.NotificationMessage) -> t.Parent:
    return t.Parent(
        id=str(row.id),
        integration_id=str(row.integration_id),
        channel_id=row.channel_id,
        message_id=row.message_id,
        group_id=str(row.group_id),
        data=dict(row.data or {}),
    )


def invite_request(row: m.InviteRequest) -> t.InviteRequest:
    return t.InviteRequest(
        id=str(row.id),
        organization_id=str(row.organization_id),
        organization_slug=row.organization.slug,
        email=row.email,
        role=row.role,
        requester=user(row.requester),
    )


def activity_json(row: m.Activity) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "type": row.type,
        "user": {"id": str(row.user.id), "email": row.user.email} if row.user else None,
        "data": row.data or {},
        "dateCreated": iso(row.date_created),
    }
