"""Tracker: a third-party plugin living outside the hub, installed with pip like any other.

It proves the whole plugin path (entry point, webhooks, inbound sync, outbound sync in RQ
workers, notifications) using only the hub's public API. Tracker's API is
``{metadata.base_url}/issues/{key}`` (JSON) with ``Authorization: Token <metadata.token>``; its
webhooks are ``POST /extensions/tracker/hook/`` signed with ``X-Tracker-Token``.
"""

from __future__ import annotations

import hmac
from typing import Any

from hub import PluginError, SyncSkipped, WebhookResponse, hookimpl, services
from hub.types import Activity, ExternalIssue, Group, Integration, Parent, WebhookRequest
from hub_tracker.client import TrackerClient

KEY = "tracker"


@hookimpl
def provider_info() -> dict[str, Any]:
    return {
        "key": KEY,
        "name": "Tracker",
        "features": ["issue-sync", "status-sync", "assignee-sync", "notifications"],
    }


@hookimpl
def on_webhook(provider: str, endpoint: str, request: WebhookRequest) -> WebhookResponse | None:
    if provider != KEY:
        return None
    if endpoint == "boom/":
        raise RuntimeError("tracker plugin bug")
    if endpoint != "hook/":
        return WebhookResponse(status=404, json={"detail": "Unknown endpoint.", "errors": {}})
    integration = services.get_integration(KEY, request.headers.get("X-Tracker-Site", ""))
    token = request.headers.get("X-Tracker-Token", "")
    if integration is None or not hmac.compare_digest(
        token, str(integration.metadata.get("webhook_token", ""))
    ):
        return WebhookResponse(status=401, json={"detail": "Bad token.", "errors": {}})
    if request.already_processed():
        return WebhookResponse(status=200, json={"ok": True, "duplicate": True})
    try:
        payload = request.json()
        key = payload["key"]
    except (ValueError, KeyError, TypeError):
        return WebhookResponse(status=400, json={"detail": "Malformed payload.", "errors": {}})
    changed: list[Group] = []
    data = {"timestamp": payload.get("timestamp")}
    if "assignee" in payload:
        email = payload["assignee"]
        changed += (
            services.hook().sync_assignee_inbound(
                integration=integration,
                email=email,
                external_issue_key=key,
                assign=email is not None,
                data=data,
            )
            or []
        )
    if "status" in payload:
        changed += (
            services.hook().sync_status_inbound(
                integration=integration,
                external_issue_key=key,
                data={
                    **data,
                    "changelog": {"from": payload.get("from"), "to": payload["status"]},
                    "to_category": payload.get("category"),
                    "from_category": payload.get("from_category"),
                },
            )
            or []
        )
    return WebhookResponse(status=200, json={"ok": True, "changed": [g.id for g in changed]})


def _client(integration: Integration) -> TrackerClient:
    return TrackerClient(integration.metadata["base_url"], token=integration.metadata.get("token", ""))


@hookimpl
def install_integration(
    provider: str, external_id: str, name: str, metadata: dict[str, Any]
) -> dict[str, Any] | None:
    if provider != KEY:
        return None
    if not metadata.get("base_url"):
        from hub import InstallError

        raise InstallError("base_url is required", {"metadata": ["base_url is required"]})
    return {"name": name or f"Tracker {external_id}", "metadata": metadata}


@hookimpl
def sync_status_outbound(integration: Integration, external_issue: ExternalIssue, is_resolved: bool) -> None:
    if integration.provider != KEY:
        return
    client = _client(integration)
    ticket = client.get_issue(external_issue.key)
    target = "closed" if is_resolved else "open"
    if ticket.get("state") == target:
        raise SyncSkipped("already in target status")
    client.set_state(external_issue.key, target)


@hookimpl
def sync_assignee_outbound(
    integration: Integration, external_issue: ExternalIssue, user: Any, assign: bool
) -> None:
    if integration.provider != KEY:
        return
    _client(integration).set_assignee(external_issue.key, user.email if (assign and user) else None)


@hookimpl
def create_external_issue(
    integration: Integration, group: Group, fields: dict[str, Any]
) -> dict[str, Any] | None:
    if integration.provider != KEY:
        return None
    if not fields.get("queue"):
        raise PluginError("Missing required fields.", {"queue": ["This field is required."]})
    ticket = _client(integration).create_issue(fields["queue"], fields.get("title") or group.title, group.url)
    return {"key": ticket["key"], "title": ticket["title"], "url": ticket["url"]}


@hookimpl
def get_external_issue(integration: Integration, key: str) -> dict[str, Any] | None:
    if integration.provider != KEY:
        return None
    ticket = _client(integration).get_issue(key)
    state = ticket.get("state")
    return {"key": ticket["key"], "title": ticket["title"], "url": ticket["url"],
            "status": {"id": state, "name": state, "category": "done" if state == "closed" else "new"}}


@hookimpl
def notify_issue_alert(
    integration: Integration, group: Group, channel_id: str, parent: Parent | None
) -> dict | None:
    if integration.provider != KEY:
        return None
    message = _client(integration).post_message(channel_id, f"New issue {group.short_id}: {group.title}",
                                               thread=parent.message_id if parent else None)
    return {"channelId": channel_id, "messageId": message["id"]}


@hookimpl
def notify_activity(
    integration: Integration, activity: Activity, group: Group, parents: list[Parent]
) -> None:
    if integration.provider != KEY:
        return
    who = activity.user.email if activity.user else "system"
    for parent in parents:
        _client(integration).post_message(parent.channel_id, f"{who} {activity.type} {group.short_id}",
                                          thread=parent.message_id)
