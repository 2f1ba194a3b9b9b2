"""Jira Cloud plugin: an Atlassian Connect app (provider key ``jira``).

Hookimpls only; the work lives in ``webhooks`` (the Connect routes), ``connect`` (JWT/qsh),
``changes`` (issue-updated as typed changes, shared with Jira Server), ``outbound`` and ``client``.
"""

from __future__ import annotations

from typing import Any

from hub import hookimpl
from hub.types import Activity, Change, ExternalIssue, Group, Integration, Route, User

from . import changes, outbound, webhooks
from .client import cloud_client
from .connect import KEY


@hookimpl
def provider_info() -> dict[str, Any]:
    return {"key": KEY, "name": "Jira Cloud", "features": ["issue-sync", "status-sync", "assignee-sync"],
            "install": webhooks.INSTALL_INFO}


@hookimpl
def webhook_routes() -> list[Route]:
    return webhooks.routes()


@hookimpl
def complete_change(integration: Integration, change: Change) -> Change | None:
    return changes.complete_change(integration, change, cloud_client)


@hookimpl
def install_integration(
    provider: str, external_id: str, name: str, metadata: dict[str, Any]
) -> dict[str, Any] | None:
    return webhooks.manual_install(external_id, name, metadata)


@hookimpl
def verify_link_token(integration: Integration, token: str) -> bool | None:
    return webhooks.verify_link_token(integration, token)


@hookimpl
def sync_status_outbound(integration: Integration, external_issue: ExternalIssue, is_resolved: bool) -> None:
    outbound.sync_status_outbound(cloud_client(integration), integration, external_issue, is_resolved)


@hookimpl
def sync_assignee_outbound(
    integration: Integration, external_issue: ExternalIssue, user: User | None, assign: bool
) -> None:
    outbound.sync_assignee_outbound(cloud_client(integration), integration, external_issue, user, assign)


@hookimpl
def sync_comment_outbound(
    integration: Integration, external_issue: ExternalIssue, activity: Activity, comment_id: str | None
) -> str | None:
    return outbound.sync_comment_outbound(cloud_client(integration), external_issue, activity, comment_id)


@hookimpl
def create_external_issue(
    integration: Integration, group: Group, fields: dict[str, Any]
) -> dict[str, Any] | None:
    return outbound.create_external_issue(cloud_client(integration), group, fields)


@hookimpl
def get_issue_form(integration: Integration, group: Group) -> list[dict[str, Any]] | None:
    return outbound.issue_form(cloud_client(integration), group)


@hookimpl
def get_external_issue(integration: Integration, key: str) -> dict[str, Any] | None:
    return outbound.get_external_issue(cloud_client(integration), key)


@hookimpl
def plugin_settings() -> list[Any]:
    """The ``HUB_*`` settings this plugin reads (:mod:`plugins.jira.settings`)."""
    from plugins.jira.settings import SETTINGS

    return SETTINGS


@hookimpl
def get_status_choices(
    integration: Integration,
    project_id: str | None,
    mapping: dict[str, str] | None,
    tickets: list[ExternalIssue],
) -> dict[str, Any] | None:
    from .statuses import status_choices

    return status_choices(cloud_client(integration), project_id, mapping, tickets)


@hookimpl
def get_install_guide(provider: str, organization_slug: str, base_url: str) -> dict[str, Any] | None:
    from .guide import install_guide

    return install_guide(organization_slug, base_url)
