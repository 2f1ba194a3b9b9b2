"""Slack: issue alerts with action buttons, thread replies, identity linking, invite requests.

Hook implementations only; the work lives in ``webhooks`` (the routes), ``request`` (signature
and payload helpers every inbound request shares), ``actions`` (interactivity), ``notifications``
(outbound posts), ``messages`` (Block Kit), ``identity``, ``oauth``, ``commands``, ``events`` and
``client``. Hooks naming an integration or a provider reach only this plugin for Slack's.
"""

from __future__ import annotations

from typing import Any

from hub import hookimpl
from hub.types import Activity, Event, Group, Integration, InviteRequest, Parent, Route, Rule
from plugins.slack import actions, notifications, oauth, webhooks

KEY = "slack"


INSTALL_INFO = {
    "instructions": "Add the hub's Slack app to your workspace, or enter a bot token by hand.",
    "links": [{"label": "Add to Slack", "url": "/extensions/slack/oauth/?organization={org}"}],
    "fields": [{"name": "access_token", "label": "Bot token (xoxb-…)", "type": "password", "required": True}],
}


@hookimpl
def provider_info() -> dict[str, Any]:
    return {"key": KEY, "name": "Slack", "features": ["notifications", "chat-actions"],
            "install": INSTALL_INFO}


@hookimpl
def webhook_routes() -> list[Route]:
    return webhooks.routes()


@hookimpl
def run_task(integration: Integration, task: str, payload: dict[str, Any]) -> str | None:
    if task == actions.REDRAW:
        return actions.run_redraw(integration, payload)
    return None


@hookimpl
def install_integration(
    provider: str, external_id: str, name: str, metadata: dict[str, Any]
) -> dict[str, Any] | None:
    return oauth.install_by_hand(external_id, name, metadata)


@hookimpl
def notify_issue_alert(
    integration: Integration, group: Group, event: Event, channel_id: str, rule: Rule, parent: Parent | None
) -> dict[str, Any] | None:
    return notifications.post_issue_alert(integration, group, event, channel_id, rule, parent)


@hookimpl
def notify_activity(
    integration: Integration, activity: Activity, group: Group, parents: list[Parent]
) -> None:
    notifications.post_activity(integration, activity, group, parents)


@hookimpl
def notify_invite_request(integration: Integration, invite_request: InviteRequest, channel_id: str) -> None:
    notifications.post_invite_request(integration, invite_request, channel_id)


@hookimpl
def plugin_settings() -> list[Any]:
    """The ``HUB_*`` settings this plugin reads (:mod:`plugins.slack.settings`)."""
    from plugins.slack.settings import SETTINGS

    return SETTINGS


@hookimpl
def get_install_guide(provider: str, organization_slug: str, base_url: str) -> dict[str, Any] | None:
    from plugins.slack.guide import install_guide

    return install_guide(organization_slug, base_url)
