"""Jira Server / Data Center plugin (provider key ``jira_server``).

Hookimpls only (STYLE §6.2). The REST work is ``plugins.jira``'s, run with the Server style
(OAuth 1.0a RSA-SHA1, REST v2, users by ``name``, plain text): see :mod:`.client`. Install and
uninstall are in :mod:`.install` and :mod:`.setup`, the webhook in :mod:`.webhooks`.
"""

from __future__ import annotations

from typing import Any

from hub import hookimpl
from hub.types import Activity, ExternalIssue, Group, Integration, User, WebhookRequest, WebhookResponse
from plugins.jira import outbound
from plugins.jira_server import install, setup, webhooks
from plugins.jira_server.client import client_for

KEY = "jira_server"


INSTALL_INFO = {
    "instructions": "The guided setup makes the key pair, shows what to enter in Jira's application link and "
                    "asks Jira for access. Already have an application link? Enter its details below.",
    "links": [{"label": "Guided setup (OAuth 1 application link)",
               "url": "/extensions/jira_server/setup/?organization={org}"}],
    "fields": [
        {"name": "base_url", "label": "Jira base URL", "type": "text", "required": True},
        {"name": "consumer_key", "label": "Consumer key", "type": "text", "required": True},
        {"name": "private_key", "label": "Private key (PEM)", "type": "textarea", "required": True},
        {"name": "access_token", "label": "Access token", "type": "password", "required": True},
        {"name": "access_token_secret", "label": "Token secret", "type": "password", "required": True},
    ],
}


@hookimpl
def provider_info() -> dict[str, Any]:
    return {"key": KEY, "name": "Jira Server", "features": ["issue-sync", "status-sync", "assignee-sync"],
            "install": INSTALL_INFO}


@hookimpl
def on_webhook(provider: str, endpoint: str, request: WebhookRequest) -> WebhookResponse | None:
    if provider != KEY:
        return None
    if endpoint.rstrip("/") == "setup":
        return setup.setup(request)
    if endpoint.rstrip("/") == "oauth-callback":
        return setup.oauth_callback(request)
    return webhooks.handle(endpoint, request)


@hookimpl
def install_integration(provider: str, external_id: str, name: str, metadata: dict[str, Any]) -> dict[str, Any] | None:
    if provider != KEY:
        return None
    return install.install(external_id, name, metadata)


@hookimpl
def uninstall_integration(integration: Integration, organization_id: str) -> None:
    if integration.provider == KEY:
        install.uninstall(integration, organization_id)


@hookimpl
def sync_status_outbound(integration: Integration, external_issue: ExternalIssue, is_resolved: bool) -> None:
    if integration.provider == KEY:
        outbound.sync_status_outbound(client_for(integration.metadata), integration, external_issue, is_resolved)


@hookimpl
def sync_assignee_outbound(integration: Integration, external_issue: ExternalIssue, user: User | None,
                           assign: bool) -> None:
    if integration.provider == KEY:
        outbound.sync_assignee_outbound(client_for(integration.metadata), integration, external_issue, user, assign)


@hookimpl
def sync_comment_outbound(integration: Integration, external_issue: ExternalIssue, activity: Activity,
                          comment_id: str | None) -> str | None:
    if integration.provider != KEY:
        return None
    return outbound.sync_comment_outbound(client_for(integration.metadata), external_issue, activity, comment_id)


@hookimpl
def get_issue_form(integration: Integration, group: Group) -> list[dict[str, Any]] | None:
    if integration.provider != KEY:
        return None
    return outbound.issue_form(client_for(integration.metadata), group)


@hookimpl
def create_external_issue(integration: Integration, group: Group, fields: dict[str, Any]) -> dict[str, Any] | None:
    if integration.provider != KEY:
        return None
    return outbound.create_external_issue(client_for(integration.metadata), group, fields)


@hookimpl
def get_external_issue(integration: Integration, key: str) -> dict[str, Any] | None:
    if integration.provider != KEY:
        return None
    return outbound.get_external_issue(client_for(integration.metadata), key)


@hookimpl
def get_status_choices(
    integration: Integration,
    project_id: str | None,
    mapping: dict[str, str] | None,
    tickets: list[ExternalIssue],
) -> dict[str, Any] | None:
    if integration.provider != KEY:
        return None
    from plugins.jira.statuses import status_choices

    return status_choices(client_for(integration.metadata), project_id, mapping, tickets)


@hookimpl
def get_install_guide(provider: str, organization_slug: str, base_url: str) -> dict[str, Any] | None:
    if provider != KEY:
        return None
    from plugins.jira_server.guide import install_guide

    return install_guide(organization_slug, base_url)
