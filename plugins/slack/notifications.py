"""Outbound notifications (RQ jobs): issue alerts, thread replies, invite requests."""

from __future__ import annotations

import logging
from typing import Any

from hub import PluginError, SyncSkipped, services
from hub.errors import ApiError, ApiRateLimited, ApiUnauthorized
from hub.types import Activity, Event, Group, Integration, InviteRequest, Parent, Rule
from plugins.slack import messages
from plugins.slack.client import client_for

logger = logging.getLogger("hub.plugins.slack")


def post_issue_alert(
    integration: Integration, group: Group, event: Event, channel_id: str, rule: Rule, parent: Parent | None
) -> dict[str, Any]:
    """Post an alert; a later alert for the same issue and channel goes into the first one's thread."""
    message = messages.alert_message(group, services.project_members(group.id), rule_id=rule.id)
    fields: dict[str, Any] = {"blocks": message["blocks"], "unfurl_links": False, "unfurl_media": False}
    if parent is not None and parent.message_id:
        fields["thread_ts"] = parent.message_id
    data = client_for(integration).post_message(channel_id, message["text"], **fields)
    logger.info(
        "slack.alert-posted",
        extra={
            "integration": integration.id,
            "group": group.id,
            "channel": channel_id,
            "threaded": "thread_ts" in fields,
        },
    )
    # The parent is keyed by the rule's channel: the core finds it again by that id for the next
    # alert, so the thread must not depend on how Slack spells the channel in its answer.
    return {"channelId": channel_id, "messageId": str(data.get("ts") or "")}


def post_activity(integration: Integration, activity: Activity, group: Group, parents: list[Parent]) -> None:
    """Reply in every alert thread of the issue; one broken thread never silences the others.

    A thread that already got this activity (an earlier attempt of this job) is skipped, so a
    retry after a partial failure posts no duplicates. Retryable failures are raised at the end.
    """
    text = messages.activity_text(activity, group)
    if text is None:
        raise SyncSkipped(f"activity {activity.type} is not posted")
    client = client_for(integration)
    retryable: ApiError | None = None
    failed: list[str] = []
    for parent in parents:
        done_key = f"slack:activity:{activity.id}:{parent.id}"
        if services.cache_get(done_key):
            continue
        if not parent.channel_id or not parent.message_id:
            logger.warning("slack.parent-broken", extra={"integration": integration.id, "parent": parent.id})
            failed.append(f"parent {parent.id}: no channel or message id")
            continue
        try:
            client.post_message(parent.channel_id, text, thread_ts=parent.message_id, unfurl_links=False)
        except ApiUnauthorized:
            raise  # the token is gone: every thread would fail; the core marks the integration
        except ApiError as e:
            logger.warning(
                "slack.thread-reply-failed",
                extra={
                    "integration": integration.id,
                    "parent": parent.id,
                    "code": e.code,
                    "error": e.message,
                },
            )
            if e.retryable or isinstance(e, ApiRateLimited):
                retryable = retryable or e
            failed.append(f"parent {parent.id}: {e.message}")
            continue
        services.cache_set(done_key, True, ttl=7 * 24 * 3600)
    if retryable is not None:
        raise retryable
    if failed and len(failed) == len(parents):
        raise PluginError("; ".join(failed))


def post_invite_request(integration: Integration, invite: InviteRequest, channel_id: str) -> None:
    """Ask the org's admins in its alert channel to approve or reject an invite request."""
    message = messages.invite_message(invite)
    client_for(integration).post_message(channel_id, message["text"], blocks=message["blocks"])
    logger.info(
        "slack.invite-request-posted", extra={"integration": integration.id, "invite_request": invite.id}
    )
