"""HUB_PAYLOADS_DIR/slack/*.json, re-pointed at our workspace and Slack-signed: never a 500."""

from __future__ import annotations

import re

from tests.plugins.slack.helpers import API, SLACK_USER, TEAM
from tests.plugins.slack.payloads import CHANNEL
from tests.support.recorded_payloads import assert_handled, recorded


def test_recorded_slack_bodies_are_answered_or_refused_cleanly(env, factories, slack, requests_mock):
    factories.identity(env["integration"], SLACK_USER, env["jess"])
    requests_mock.post(re.compile(r"https://hooks\.slack\.com/.*"), text="ok")
    requests_mock.post(re.compile(re.escape(API) + "/.*"), json={"ok": True, "channel": CHANNEL, "ts": "1.0"})
    group = env["group_id"]
    for name, body in recorded("slack", group_id=group, rule_id=7, user_id=SLACK_USER, user_name="jess"):
        if isinstance(body.get("team"), dict):
            body["team"]["id"] = TEAM
        if "team_id" in body:
            body["team_id"] = TEAM
        if isinstance(body.get("user"), dict):
            body["user"]["id"] = SLACK_USER
        events = body.get("type") in ("url_verification", "event_callback", "app_rate_limited")
        assert_handled(name, slack.event(body) if events else slack.action(body))
