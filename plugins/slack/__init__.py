"""Slack: issue alerts with action buttons, thread replies, identity linking, invite requests.

Hook implementations only; the work lives in ``webhooks`` (verify and route inbound requests),
``actions`` (interactivity), ``notifications`` (outbound posts), ``messages`` (Block Kit),
``identity``, ``oauth``, ``commands``, ``events`` and ``client``.
"""

from __future__ import annotations

from typing import Any

from hub import hookimpl
from hub.types import (
    Activity,
    Event,
    Group,
    Integration,
    InviteRequest,
    Parent,
    Rule,
    WebhookRequest,
    WebhookResponse,
)
from plugins.slack import notifications, oauth, webhooks

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
def on_webhook(provider: str, endpoint: str, request: WebhookRequest) -> WebhookResponse | None:
    if provider != KEY:
        return None
    return webhooks.handle(endpoint, request)


@hookimpl
def install_integration(
    provider: str, external_id: str, name: str, metadata: dict[str, Any]
) -> dict[str, Any] | None:
    if provider != KEY:
        return None
    return oauth.install_by_hand(external_id, name, metadata)


@hookimpl
def notify_issue_alert(
    integration: Integration, group: Group, event: Event, channel_id: str, rule: Rule, parent: Parent | None
) -> dict[str, Any] | None:
    if integration.provider != KEY:
        return None
    return notifications.post_issue_alert(integration, group, event, channel_id, rule, parent)


@hookimpl
def notify_activity(
    integration: Integration, activity: Activity, group: Group, parents: list[Parent]
) -> None:
    if integration.provider != KEY:
        return None
    notifications.post_activity(integration, activity, group, parents)
    return None


@hookimpl
def notify_invite_request(integration: Integration, invite_request: InviteRequest, channel_id: str) -> None:
    if integration.provider != KEY:
        return None
    notifications.post_invite_request(integration, invite_request, channel_id)
    return None


@hookimpl
def get_install_guide(provider: str, organization_slug: str, base_url: str) -> dict[str, Any] | None:
    if provider != KEY:
        return None
    from plugins.slack.guide import install_guide

    return install_guide(organization_slug, base_url)
