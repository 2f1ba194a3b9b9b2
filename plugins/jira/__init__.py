"""Jira Cloud plugin: an Atlassian Connect app (provider key ``jira``).

Hookimpls only; the work lives in ``endpoints`` (Connect routes), ``connect`` (JWT/qsh),
``webhooks`` (issue-updated, shared with Jira Server), ``outbound`` and ``client``.
"""

from __future__ import annotations

from typing import Any

from hub import WebhookResponse, hookimpl
from hub.types import Activity, ExternalIssue, Group, Integration, User, WebhookRequest

from . import endpoints, outbound
from .client import cloud_client

KEY = "jira"


@hookimpl
def provider_info() -> dict[str, Any]:
    return {"key": KEY, "name": "Jira Cloud", "features": ["issue-sync", "status-sync", "assignee-sync"],
            "install": endpoints.INSTALL_INFO}


@hookimpl
def on_webhook(provider: str, endpoint: str, request: WebhookRequest) -> WebhookResponse | None:
    if provider != KEY:
        return None
    return endpoints.route(endpoint, request)


@hookimpl
def install_integration(
    provider: str, external_id: str, name: str, metadata: dict[str, Any]
) -> dict[str, Any] | None:
    if provider != KEY:
        return None
    return endpoints.manual_install(external_id, name, metadata)


@hookimpl
def verify_link_token(integration: Integration, token: str) -> bool | None:
    if integration.provider != KEY:
        return None
    return endpoints.verify_link_token(integration, token)


@hookimpl
def sync_status_outbound(integration: Integration, external_issue: ExternalIssue, is_resolved: bool) -> None:
    if integration.provider != KEY:
        return None
    outbound.sync_status_outbound(cloud_client(integration), integration, external_issue, is_resolved)
    return None


@hookimpl
def sync_assignee_outbound(
    integration: Integration, external_issue: ExternalIssue, user: User | None, assign: bool
) -> None:
    if integration.provider != KEY:
        return None
    outbound.sync_assignee_outbound(cloud_client(integration), integration, external_issue, user, assign)
    return None


@hookimpl
def sync_comment_outbound(
    integration: Integration, external_issue: ExternalIssue, activity: Activity, comment_id: str | None
) -> str | None:
    if integration.provider != KEY:
        return None
    return outbound.sync_comment_outbound(cloud_client(integration), external_issue, activity, comment_id)


@hookimpl
def create_external_issue(
    integration: Integration, group: Group, fields: dict[str, Any]
) -> dict[str, Any] | None:
    if integration.provider != KEY:
        return None
    return outbound.create_external_issue(cloud_client(integration), group, fields)


@hookimpl
def get_issue_form(integration: Integration, group: Group) -> list[dict[str, Any]] | None:
    if integration.provider != KEY:
        return None
    return outbound.issue_form(cloud_client(integration), group)


@hookimpl
def get_external_issue(integration: Integration, key: str) -> dict[str, Any] | None:
    if integration.provider != KEY:
        return None
    return outbound.get_external_issue(cloud_client(integration), key)


@hookimpl
def get_status_choices(
    integration: Integration,
    project_id: str | None,
    mapping: dict[str, str] | None,
    tickets: list[ExternalIssue],
) -> dict[str, Any] | None:
    if integration.provider != KEY:
        return None
    from .statuses import status_choices

    return status_choices(cloud_client(integration), project_id, mapping, tickets)


@hookimpl
def get_install_guide(provider: str, organization_slug: str, base_url: str) -> dict[str, Any] | None:
    if provider != KEY:
        return None
    from .guide import install_guide

    return install_guide(organization_slug, base_url)
