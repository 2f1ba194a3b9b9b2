"""Work an interaction defers to a worker (``services.defer`` → the ``run_task`` hook).

Discord's interaction response must leave within 3 seconds and can only change the message the
component sits on; a Discord API call for another message waits for a worker, with the outbox's
retries (429s and 5xx back off, 401/403 mark the integration).
"""

from __future__ import annotations

import logging
from typing import Any

from hub import PluginError, SyncSkipped, services
from hub.errors import ApiError
from hub.types import Group, Integration
from plugins.discord import messages as msg
from plugins.discord.client import DiscordClient

logger = logging.getLogger("hub.plugins.discord")

REFRESH_ALERT = "refresh_alert"


def refresh_alert_later(integration: Integration, group: Group, channel_id: str, message_id: str) -> str:
    """Bring an alert's buttons up to date with its issue, in a worker; the outbox row's id."""
    return services.defer(integration.id, REFRESH_ALERT,
                          {"group_id": group.id, "channel_id": channel_id, "message_id": message_id})


def refresh_alert(integration: Integration, payload: dict[str, Any]) -> str:
    """``PATCH`` the alert's components to the issue's status now (a later change wins either way)."""
    group = services.group_for_integration(str(payload.get("group_id") or ""), integration.id)
    if group is None:
        raise SyncSkipped("issue gone or no longer in an organization using this server")
    client = DiscordClient.from_config()
    try:
        client.edit_message(str(payload["channel_id"]), str(payload["message_id"]),
                            {"components": msg.alert_components(group)})
    except ApiError as e:
        if e.code == 404:  # Unknown Message / Unknown Channel: the alert was deleted
            raise SyncSkipped("alert message deleted") from e
        raise
    logger.info("discord.alert-refreshed", extra={"group": group.id, "integration": integration.id})
    return "alert refreshed"


TASKS = {REFRESH_ALERT: refresh_alert}


def run(integration: Integration, task: str, payload: dict[str, Any]) -> str:
    handler = TASKS.get(task)
    if handler is None:
        raise PluginError(f"Unknown Discord task {task!r}.")
    return handler(integration, payload)
