"""The hook implementations Jira Cloud and Jira Server answer the same way, written once.

The REST work is shared (:mod:`.outbound`, :mod:`.statuses`, :mod:`.changes`); what differs is the
client (Connect JWT and REST v3, or OAuth 1 and REST v2) and the install guide. Each plugin module
binds a :class:`JiraHooks` to its own and re-exports the bound methods, which keep their ``hookimpl``
mark (pluggy reads hook implementations off any attribute of a plugin, methods too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub import hookimpl
from hub.types import Activity, Change, ExternalIssue, Group, Integration, User

from . import changes, outbound
from .client import JiraClient
from .statuses import status_choices


class JiraHooks:
    """The shared hookimpls, bound to one flavour's ``client(integration)`` and ``guide(org, base_url)``."""

    #: The order :meth:`hookimpls` returns them in (each plugin unpacks them under these names).
    NAMES = ("complete_change", "sync_status_outbound", "sync_assignee_outbound", "sync_comment_outbound",
             "create_external_issue", "get_issue_form", "get_external_issue", "get_status_choices",
             "get_install_guide")

    def __init__(self, client: Callable[[Integration], JiraClient],
                 guide: Callable[[str, str], dict[str, Any]]) -> None:
        self.client = client
        self.guide = guide

    def hookimpls(self) -> tuple[Callable[..., Any], ...]:
        return tuple(getattr(self, name) for name in self.NAMES)

    @hookimpl
    def complete_change(self, integration: Integration, change: Change) -> Change | None:
        return changes.complete_change(integration, change, self.client)

    @hookimpl
    def sync_status_outbound(self, integration: Integration, external_issue: ExternalIssue,
                             is_resolved: bool) -> None:
        outbound.sync_status_outbound(self.client(integration), integration, external_issue, is_resolved)

    @hookimpl
    def sync_assignee_outbound(self, integration: Integration, external_issue: ExternalIssue,
                               user: User | None, assign: bool) -> None:
        outbound.sync_assignee_outbound(self.client(integration), integration, external_issue, user, assign)

    @hookimpl
    def sync_comment_outbound(self, integration: Integration, external_issue: ExternalIssue,
                              activity: Activity, comment_id: str | None) -> str | None:
        return outbound.sync_comment_outbound(self.client(integration), external_issue, activity, comment_id)

    @hookimpl
    def create_external_issue(self, integration: Integration, group: Group,
                              fields: dict[str, Any]) -> dict[str, Any] | None:
        return outbound.create_external_issue(self.client(integration), group, fields)

    @hookimpl
    def get_issue_form(self, integration: Integration, group: Group) -> list[dict[str, Any]] | None:
        return outbound.issue_form(self.client(integration), group)

    @hookimpl
    def get_external_issue(self, integration: Integration, key: str) -> dict[str, Any] | None:
        return outbound.get_external_issue(self.client(integration), key)

    @hookimpl
    def get_status_choices(
        self, integration: Integration, project_id: str | None, mapping: dict[str, str] | None,
        tickets: list[ExternalIssue],
    ) -> dict[str, Any] | None:
        return status_choices(self.client(integration), project_id, mapping, tickets)

    @hookimpl
    def get_install_guide(self, provider: str, organization_slug: str,
                          base_url: str) -> dict[str, Any] | None:
        return self.guide(organization_slug, base_url)
