"""Jira Server / Data Center plugin (provider key ``jira_server``).

Hookimpls only (STYLE §6.2). The REST work is ``plugins.jira``'s, run with the Server style
(OAuth 1.0a RSA-SHA1, REST v2, users by ``name``, plain text): see :mod:`.client`. Install and
uninstall are in :mod:`.install` and :mod:`.setup`, the routes in :mod:`.webhooks`, the webhook's
token in :mod:`.verify`; the webhook's changes are Jira Cloud's (:mod:`plugins.jira.changes`).
"""

from __future__ import annotations

from typing import Any

from hub import hookimpl
from hub.types import Activity, Change, ExternalIssue, Group, Integration, Route, User
from plugins.jira import changes, outbound
from plugins.jira_server import install, webhooks
from plugins.jira_server.client import server_client as _client
from plugins.jira_server.verify import KEY


@hookimpl
def provider_info() -> dict[str, Any]:
    return {"key": KEY, "name": "Jira Server", "features": ["issue-sync", "status-sync", "assignee-sync"],
            "install": install.INSTALL_INFO}


@hookimpl
def webhook_routes() -> list[Route]:
    return webhooks.routes()


@hookimpl
def complete_change(integration: Integration, change: Change) -> Change | None:
    return changes.complete_change(integration, change, _client)


@hookimpl
def install_integration(
    provider: str, external_id: str, name: str, metadata: dict[str, Any]
) -> dict[str, Any] | None:
    return install.install(external_id, name, metadata)


@hookimpl
def uninstall_integration(integration: Integration, organization_id: str) -> None:
    install.uninstall(integration, organization_id)


@hookimpl
def sync_status_outbound(integration: Integration, external_issue: ExternalIssue, is_resolved: bool) -> None:
    outbound.sync_status_outbound(_client(integration), integration, external_issue, is_resolved)


@hookimpl
def sync_assignee_outbound(integration: Integration, external_issue: ExternalIssue, user: User | None,
                           assign: bool) -> None:
    outbound.sync_assignee_outbound(_client(integration), integration, external_issue, user, assign)


@hookimpl
def sync_comment_outbound(integration: Integration, external_issue: ExternalIssue, activity: Activity,
                          comment_id: str | None) -> str | None:
    return outbound.sync_comment_outbound(_client(integration), external_issue, activity, comment_id)


@hookimpl
def get_issue_form(integration: Integration, group: Group) -> list[dict[str, Any]] | None:
    return outbound.issue_form(_client(integration), group)


@hookimpl
def create_external_issue(
    integration: Integration, group: Group, fields: dict[str, Any]
) -> dict[str, Any] | None:
    return outbound.create_external_issue(_client(integration), group, fields)


@hookimpl
def get_external_issue(integration: Integration, key: str) -> dict[str, Any] | None:
    return outbound.get_external_issue(_client(integration), key)


@hookimpl
def get_status_choices(
    integration: Integration,
    project_id: str | None,
    mapping: dict[str, str] | None,
    tickets: list[ExternalIssue],
) -> dict[str, Any] | None:
    from plugins.jira.statuses import status_choices

    return status_choices(_client(integration), project_id, mapping, tickets)


@hookimpl
def get_install_guide(provider: str, organization_slug: str, base_url: str) -> dict[str, Any] | None:
    from plugins.jira_server.guide import install_guide

    return install_guide(organization_slug, base_url)
