"""Jira Server / Data Center plugin (provider key ``jira_server``).

Hookimpls only (STYLE §6.2). The REST work is ``plugins.jira``'s, run with the Server style
(OAuth 1.0a RSA-SHA1, REST v2, users by ``name``, plain text): see :mod:`.client`. Install and
uninstall are in :mod:`.install` and :mod:`.setup`, the routes in :mod:`.webhooks`, the webhook's
token in :mod:`.verify`; the webhook's changes are Jira Cloud's (:mod:`plugins.jira.changes`).
"""

from __future__ import annotations

from typing import Any

from hub import hookimpl
from hub.types import Integration, Route
from plugins.jira.hooks import JiraHooks
from plugins.jira_server import install, webhooks
from plugins.jira_server.client import server_client
from plugins.jira_server.guide import install_guide
from plugins.jira_server.verify import KEY

#: The hooks Jira Cloud answers the same way, with this plugin's client and guide (plugins.jira.hooks).
(complete_change, sync_status_outbound, sync_assignee_outbound, sync_comment_outbound, create_external_issue,
 get_issue_form, get_external_issue, get_status_choices,
 get_install_guide) = JiraHooks(server_client, install_guide).hookimpls()


@hookimpl
def provider_info() -> dict[str, Any]:
    return {"key": KEY, "name": "Jira Server", "features": ["issue-sync", "status-sync", "assignee-sync"],
            "install": install.INSTALL_INFO}


@hookimpl
def webhook_routes() -> list[Route]:
    return webhooks.routes()


@hookimpl
def install_integration(
    provider: str, external_id: str, name: str, metadata: dict[str, Any]
) -> dict[str, Any] | None:
    return install.install(external_id, name, metadata)


@hookimpl
def uninstall_integration(integration: Integration, organization_id: str) -> None:
    install.uninstall(integration, organization_id)
