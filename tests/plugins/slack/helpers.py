"""Helpers for the Slack plugin tests: the payloads.py bodies, Slack-signed requests, API reads."""

from __future__ import annotations

import copy
import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from tests.plugins.slack.payloads import (  # noqa: F401
    RESPONSE_URL,
    SCENARIOS,
    SLACK_USER,
    TEAM,
    block_actions_resolve,
)

SIGNING_SECRET = "slack-signing-secret"  # hub.testing's HUB_SLACK_SIGNING_SECRET
API = "https://slack.com/api"
BOT_TOKEN = "xoxb-test-token"


def load(name: str) -> dict[str, Any]:
    """A fresh body of the named payloads.py scenario."""
    return SCENARIOS[name]()


def signed_headers(body: bytes, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Headers exactly as Slack sends them: v0 HMAC over ``v0:{timestamp}:{raw body}``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def form_body(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def block_actions(
    issue_id: Any,
    *,
    action: dict[str, Any] | None = None,
    user: str = SLACK_USER,
    team: str = TEAM,
    rule: Any = 7,
) -> dict[str, Any]:
    """The Resolve click of payloads.py, pointed at ``issue_id`` (and optionally another action)."""
    payload = block_actions_resolve(issue_id, rule)
    payload["user"]["id"] = user
    payload["team"]["id"] = team
    payload["user"]["team_id"] = team
    if action is not None:
        payload["actions"] = [{**copy.deepcopy(payload["actions"][0]), **action}]
    return payload


def select_action(value: str) -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": "assign",
        "block_id": "actions",
        "value": None,
        "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": value},
    }


class SlackRequests:
    """Posts Slack-signed requests to the hub's Slack endpoints."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def post(
        self,
        endpoint: str,
        body: bytes,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        return self.client.post(
            f"/extensions/slack/{endpoint}",
            data=body,
            content_type=content_type,
            headers={**signed_headers(body, timestamp), **(headers or {})},
        )

    def action(self, payload: dict[str, Any], **kw: Any) -> Any:
        return self.post("action/", form_body(payload), **kw)

    def event(self, payload: dict[str, Any], **kw: Any) -> Any:
        return self.post("event/", json.dumps(payload).encode(), content_type="application/json", **kw)

    def command(self, text: str, user: str = SLACK_USER, team: str = TEAM) -> Any:
        body = urlencode(
            {
                "token": "legacy",
                "team_id": team,
                "team_domain": "acme",
                "channel_id": "C07ONCALL",
                "channel_name": "alerts",
                "user_id": user,
                "user_name": "jess",
                "command": "/hub",
                "text": text,
                "response_url": "https://hooks.slack.com/commands/T07HB2Q4Z/2/xyz",
                "trigger_id": f"1.2.{time.time_ns()}",
            }
        ).encode()
        return self.post("commands/", body)


def issue(client: Any, env: dict[str, Any], group_id: Any) -> dict[str, Any]:
    r = client.get(f"/api/0/organizations/acme/issues/{group_id}/", headers=env["headers"])
    assert r.status_code == 200, r.json
    return r.json  # type: ignore[no-any-return]


def activities(client: Any, env: dict[str, Any], group_id: Any) -> list[dict[str, Any]]:
    r = client.get(f"/api/0/organizations/acme/issues/{group_id}/activities/", headers=env["headers"])
    assert r.status_code == 200, r.json
    return r.json  # type: ignore[no-any-return]
