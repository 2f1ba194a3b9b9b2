"""Jira Cloud plugin: an Atlassian Connect app (provider key ``jira``).

Hookimpls only; the work lives in ``webhooks`` (the Connect routes), ``connect`` (JWT/qsh),
``changes`` (issue-updated as typed changes, shared with Jira Server), ``outbound`` and ``client``;
the hookimpls Jira Server shares are :class:`.hooks.JiraHooks`, bound to this plugin's client.
"""

from __future__ import annotations

from typing import Any

from hub import hookimpl
from hub.types import Integration, Route

from . import webhooks
from .client import cloud_client
from .connect import KEY
from .guide import install_guide
from .hooks import JiraHooks

#: The hooks Jira Server answers the same way, with this plugin's client and guide (:mod:`.hooks`).
(complete_change, sync_status_outbound, sync_assignee_outbound, sync_comment_outbound, create_external_issue,
 get_issue_form, get_external_issue, get_status_choices,
 get_install_guide) = JiraHooks(cloud_client, install_guide).hookimpls()


@hookimpl
def provider_info() -> dict[str, Any]:
    return {"key": KEY, "name": "Jira Cloud", "features": ["issue-sync", "status-sync", "assignee-sync"],
            "install": webhooks.INSTALL_INFO}


@hookimpl
def webhook_routes() -> list[Route]:
    return webhooks.routes()


@hookimpl
def install_integration(
    provider: str, external_id: str, name: str, metadata: dict[str, Any]
) -> dict[str, Any] | None:
    return webhooks.manual_install(external_id, name, metadata)


@hookimpl
def verify_link_token(integration: Integration, token: str) -> bool | None:
    return webhooks.verify_link_token(integration, token)


@hookimpl
def plugin_settings() -> list[Any]:
    """The ``HUB_*`` settings this plugin reads (:mod:`plugins.jira.settings`)."""
    from plugins.jira.settings import SETTINGS

    return SETTINGS
