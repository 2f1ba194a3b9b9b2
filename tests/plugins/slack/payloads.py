"""Request bodies Slack sends to the app's Request URLs, written for these tests: the Events API
``url_verification`` handshake, a ``block_actions`` click on a hub alert, and a ``view_submission``
of the resolve dialog (shapes from Slack's interactivity and Events API docs; values are our own)."""

from __future__ import annotations

import json
from typing import Any

TEAM = "T07HB2Q4Z"
SLACK_USER = "U07JESS91"
CHANNEL = "C07ONCALL"
RESPONSE_URL = "https://hooks.slack.com/actions/T07HB2Q4Z/7391846251/h8Qx2KpV0mZrT4wc"
ALERT_TS = "1795170600.004200"
CLICK_TS = "1795170612.558301"
TRIGGER_ID = "7391846251043.6620917734.b1d5c09e7a3f42e6d8c1"
CHALLENGE = "hubtests-challenge-Qm9xR2lyYWZmZS1wYXlsb2Fk"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _who() -> dict[str, Any]:
    return {
        "team": {"id": TEAM, "domain": "acme-eng"},
        "user": {"id": SLACK_USER, "username": "jess", "name": "jess", "team_id": TEAM},
        "api_app_id": "A07HUBAPP",
        "token": "hub-tests-legacy-verification",
    }


def url_verification() -> dict[str, Any]:
    """Slack's check, when a Request URL is saved, that the endpoint echoes ``challenge``."""
    return {"type": "url_verification", "token": "hub-tests-legacy-verification", "challenge": CHALLENGE}


def block_actions_resolve(issue_id: Any = 1, rule: Any = 7) -> dict[str, Any]:
    """A click on the Resolve button of the alert the hub posted for ``issue_id``."""
    resolve = {"type": "button", "action_id": "status", "text": _plain("Resolve"), "value": "resolved"}
    alert = [
        {
            "type": "section",
            "block_id": json.dumps({"issue": int(issue_id), "rule": rule}),
            "text": {"type": "mrkdwn", "text": "*ZeroDivisionError: division by zero*"},
        },
        {"type": "actions", "block_id": "actions", "elements": [resolve]},
    ]
    return {
        "type": "block_actions",
        **_who(),
        "trigger_id": TRIGGER_ID,
        "container": {"type": "message", "message_ts": ALERT_TS, "channel_id": CHANNEL,
                      "is_ephemeral": False},
        "channel": {"id": CHANNEL, "name": "oncall"},
        "message": {"type": "message", "user": "U07HUBBOT", "ts": ALERT_TS, "text": "ZeroDivisionError",
                    "blocks": alert},
        "state": {"values": {}},
        "response_url": RESPONSE_URL,
        "actions": [{**resolve, "block_id": "actions", "action_ts": CLICK_TS}],
    }


def view_submission_resolve(issue_id: Any = 1) -> dict[str, Any]:
    """The resolve dialog submitted with "Immediately"; the hub's private_metadata names the issue."""
    metadata = {"issue": int(issue_id), "orig_response_url": RESPONSE_URL, "channel_id": CHANNEL}
    choice = {"text": _plain("Immediately"), "value": "resolved"}
    return {
        "type": "view_submission",
        **_who(),
        "trigger_id": "7391846299871.6620917734.0f2e8a6c1d9b",
        "view": {
            "id": "V07RSLV01",
            "type": "modal",
            "callback_id": "resolve_dialog",
            "private_metadata": json.dumps(metadata),
            "title": _plain("Resolve Issue"),
            "state": {"values": {"resolve_type": {"resolve_type": {"type": "static_select",
                                                                    "selected_option": choice}}}},
            "hash": "1795170630.Zq8bS1wX",
        },
        "response_urls": [],
    }


SCENARIOS = {"url_verification": url_verification, "view_submission_resolve": view_submission_resolve}
