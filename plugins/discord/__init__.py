"""Discord: issue alerts with buttons in a server's channels, and acting on issues from Discord."""

from __future__ import annotations

from typing import Any

from hub import hookimpl
from hub.types import Activity, Group, Integration, InviteRequest, Parent, Route, Rule
from plugins.discord import install, invites, notifications, tasks, webhooks


@hookimpl
def provider_info() -> dict[str, Any]:
    return {"key": "discord", "name": "Discord", "features": ["notifications", "chat-actions"],
            "install": install.INSTALL_INFO, "channel_pattern": r"[0-9]{1,20}"}


@hookimpl
def webhook_routes() -> list[Route]:
    return webhooks.ROUTES


@hookimpl
def install_integration(external_id: str, name: str, metadata: dict[str, Any]) -> dict[str, Any]:
    return install.install_integration(external_id, name, metadata)


@hookimpl
def uninstall_integration(integration: Integration, organization_id: str) -> None:
    install.uninstall_integration(integration, organization_id)


@hookimpl
def notify_issue_alert(
    integration: Integration, group: Group, channel_id: str, rule: Rule, parent: Parent | None
) -> dict[str, Any]:
    return notifications.notify_issue_alert(group, channel_id, rule, parent)


@hookimpl
def notify_activity(
    integration: Integration, activity: Activity, group: Group, parents: list[Parent]
) -> None:
    notifications.notify_activity(activity, group, parents)


@hookimpl
def notify_invite_request(integration: Integration, invite_request: InviteRequest, channel_id: str) -> None:
    invites.post(invite_request, channel_id)


@hookimpl
def plugin_settings() -> list[Any]:
    """The ``HUB_*`` settings this plugin reads (:mod:`plugins.discord.settings`)."""
    from plugins.discord.settings import SETTINGS

    return SETTINGS


@hookimpl
def run_task(integration: Integration, task: str, payload: dict[str, Any]) -> str:
    return tasks.run(integration, task, payload)


@hookimpl
def get_install_guide(provider: str, organization_slug: str, base_url: str) -> dict[str, Any] | None:
    from plugins.discord.guide import install_guide

    return install_guide(organization_slug, base_url)
