"""Discord: issue alerts with buttons in a server's channels, and acting on issues from Discord."""

from __future__ import annotations

from typing import Any

from hub import WebhookResponse, hookimpl
from hub.types import Activity, Group, Integration, InviteRequest, Parent, Rule, WebhookRequest
from plugins.discord import install, invites, notify, webhooks

KEY = "discord"


INSTALL_INFO = {
    "instructions": "Add the hub's bot to your Discord server (the server id is the external id by hand).",
    "links": [{"label": "Add to Discord", "url": "/extensions/discord/oauth/?organization={org}"}],
    "fields": [],
}


@hookimpl
def provider_info() -> dict[str, Any]:
    return {"key": KEY, "name": "Discord", "features": ["notifications", "chat-actions"],
            "install": INSTALL_INFO}


@hookimpl
def on_webhook(provider: str, endpoint: str, request: WebhookRequest) -> WebhookResponse | None:
    if provider != KEY:
        return None
    return webhooks.dispatch(endpoint, request)


@hookimpl
def install_integration(
    provider: str, external_id: str, name: str, metadata: dict[str, Any]
) -> dict[str, Any] | None:
    if provider != KEY:
        return None
    return install.install_integration(external_id, name, metadata)


@hookimpl
def uninstall_integration(integration: Integration, organization_id: str) -> None:
    if integration.provider != KEY:
        return None
    install.uninstall_integration(integration, organization_id)
    return None


@hookimpl
def notify_issue_alert(
    integration: Integration, group: Group, channel_id: str, rule: Rule, parent: Parent | None
) -> dict[str, Any] | None:
    if integration.provider != KEY:
        return None
    return notify.notify_issue_alert(group, channel_id, rule, parent)


@hookimpl
def notify_activity(
    integration: Integration, activity: Activity, group: Group, parents: list[Parent]
) -> None:
    if integration.provider != KEY:
        return
    notify.notify_activity(activity, group, parents)


@hookimpl
def notify_invite_request(integration: Integration, invite_request: InviteRequest, channel_id: str) -> None:
    if integration.provider != KEY:
        return
    invites.post(invite_request, channel_id)


@hookimpl
def get_install_guide(provider: str, organization_slug: str, base_url: str) -> dict[str, Any] | None:
    if provider != KEY:
        return None
    from plugins.discord.guide import install_guide

    return install_guide(organization_slug, base_url)
