"""Outbound notifications: issue alerts in a channel, then user activity in the alert's thread."""

from __future__ import annotations

import logging
from typing import Any

from hub import PluginError, RetryLater, services
from hub.errors import ApiError, ApiRateLimited, ApiUnauthorized
from hub.types import Activity, Group, Parent, Rule
from plugins.discord import messages as msg
from plugins.discord.client import DiscordClient

logger = logging.getLogger("hub.plugins.discord")

THREAD_ALREADY_EXISTS = 160004  # https://discord.com/developers/docs/topics/opcodes-and-status-codes#json
POSTED_MEMORY = 20  # activity ids remembered per parent, so a retried job does not post twice


def notify_issue_alert(group: Group, channel_id: str, rule: Rule, parent: Parent | None) -> dict[str, Any]:
    """Post the alert; when the issue already alerted in this channel, post it into that alert's thread."""
    body = msg.alert_message(group, rule)
    client = DiscordClient.from_config()
    target = _thread_id(client, parent, group) if parent is not None else channel_id
    message = client.create_message(target, body)
    if not message.get("id"):
        raise PluginError("Discord did not return the posted message's id.")
    logger.info(
        "discord.alert-posted",
        extra={"group": group.id, "channel": channel_id, "in_thread": parent is not None},
    )
    if parent is not None:
        return {"channelId": channel_id, "messageId": parent.message_id}
    # Keyed by the rule's channel: the core finds the parent again by that id for the next alert.
    return {"channelId": channel_id, "messageId": str(message["id"])}


def _thread_id(client: DiscordClient, parent: Parent, group: Group) -> str:
    """The parent's thread, started on first use and remembered on the parent."""
    known = parent.data.get("thread_id")
    if known:
        return str(known)
    try:
        thread = client.start_thread(parent.channel_id, parent.message_id, f"{group.short_id}: {group.title}")
        thread_id = str(thread["id"])
    except ApiError as e:
        # A thread started from a message has the message's id (it exists already when we
        # started it earlier but could not store it).
        if not (isinstance(e.body, dict) and e.body.get("code") == THREAD_ALREADY_EXISTS):
            raise
        thread_id = parent.message_id
    services.update_parent(parent.id, {"thread_id": thread_id})
    return thread_id


def notify_activity(activity: Activity, group: Group, parents: list[Parent]) -> None:
    """Post the activity into each alert's thread; one failing parent does not stop the others."""
    client = DiscordClient.from_config()
    text = msg.activity_text(activity, group)
    failures: list[ApiError] = []
    for parent in parents:
        posted = [str(x) for x in parent.data.get("posted_activities") or []]
        if str(activity.id) in posted:
            continue
        try:
            thread_id = _thread_id(client, parent, group)
            client.create_message(thread_id, {"content": text, "allowed_mentions": {"parse": []}})
        except ApiError as e:
            logger.warning(
                "discord.activity-failed", extra={"parent": parent.id, "status": e.code, "error": e.message}
            )
            failures.append(e)
            continue
        services.update_parent(
            parent.id, {"posted_activities": (posted + [str(activity.id)])[-POSTED_MEMORY:]}
        )
    if failures:
        raise _worst(failures, len(parents))


def _worst(failures: list[ApiError], total: int) -> Exception:
    """The error that settles the job: bad credentials, then a rate limit, then a retryable one."""
    unauthorized = [f for f in failures if isinstance(f, ApiUnauthorized)]
    if unauthorized:
        return unauthorized[0]
    limited = [f.retry_after for f in failures if isinstance(f, ApiRateLimited)]
    if limited:
        return RetryLater(max(limited), reason="Discord rate limit")
    retryable = [f for f in failures if f.retryable]
    if retryable:
        return retryable[0]
    return PluginError(f"{len(failures)} of {total} thread(s) could not be updated: {failures[0].message}")
