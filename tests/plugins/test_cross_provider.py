"""Flows that cross providers: a chat action drives the Jira link, and the echo rules (FLOWS §9)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from hub import models as m
from hub.extensions import db
from tests.plugins.jira.conftest import (
    ALL_SYNC,
    CLIENT_KEY,
    SECRET,
    SITE,
    decode_outbound,
    jira_issue,
    send_webhook,
)
from tests.plugins.slack.helpers import (
    BOT_TOKEN,
    RESPONSE_URL,
    SLACK_USER,
    TEAM,
    SlackRequests,
    block_actions,
)
from tests.support.specs import assert_valid_requests


def _setup(factories: Any) -> dict[str, Any]:
    s = factories.setup()
    jira = factories.integration(s["org"], "jira", CLIENT_KEY,
                                 {"base_url": SITE, "shared_secret": SECRET, "client_key": CLIENT_KEY},
                                 config=ALL_SYNC)
    slack = factories.integration(
        s["org"], "slack", TEAM, {"access_token": BOT_TOKEN, "bot_user_id": "U0BOT"}
    )
    factories.mapping(s["org"], jira, "10100", resolved="10001", unresolved="3")
    factories.identity(slack, SLACK_USER, s["owner"])
    group = factories.group(s["project"])
    factories.link(group, jira, "APP-123")
    factories.parent(group, slack, "C07ONCALL", "1795170600.004200")
    return {**s, "group_id": group.id, "slack_id": slack.id, "jira_id": jira.id}


def test_a_slack_resolve_transitions_the_linked_jira_ticket_and_posts_in_the_thread(
        client, factories, run_jobs, requests_mock):
    s = _setup(factories)
    requests_mock.post(RESPONSE_URL, text="ok")
    requests_mock.get(
        f"{SITE}/rest/api/3/issue/APP-123", json=jira_issue(status_id="3", category="indeterminate")
    )
    requests_mock.get(f"{SITE}/rest/api/3/issue/APP-123/transitions",
                      json={"transitions": [{"id": "31", "name": "Done", "to": {"id": "10001"}}]})
    requests_mock.post(f"{SITE}/rest/api/3/issue/APP-123/transitions", status_code=204)
    requests_mock.post("https://slack.com/api/chat.postMessage", json={"ok": True, "ts": "1795170700.000200"})

    r = SlackRequests(client).action(block_actions(s["group_id"]))
    assert r.status_code == 200
    issue = client.get(f"/api/0/organizations/acme/issues/{s['group_id']}/", headers=s["headers"]).json
    assert issue["status"] == "resolved"
    [activity] = [a for a in client.get(f"/api/0/organizations/acme/issues/{s['group_id']}/activities/",
                                        headers=s["headers"]).json if a["type"] == "set_resolved"]
    assert activity["user"]["email"] == "owner@example.com" and activity["data"]["integration"] == "slack"

    run_jobs()
    [transition] = [
        x for x in requests_mock.request_history if x.method == "POST" and x.url.endswith("/transitions")
    ]
    assert transition.json() == {"transition": {"id": "31"}}
    decode_outbound(transition)
    [reply] = [x for x in requests_mock.request_history if x.url == "https://slack.com/api/chat.postMessage"]
    assert reply.json()["thread_ts"] == "1795170600.004200" and reply.json()["channel"] == "C07ONCALL"
    assert assert_valid_requests("jira-cloud", requests_mock.request_history, SITE) == 3
    assert assert_valid_requests("slack", requests_mock.request_history, "https://slack.com/api") == 1


def test_a_jira_resolve_is_not_echoed_to_jira_nor_posted_to_chat(client, factories, run_jobs, requests_mock):
    s = _setup(factories)
    body = {"timestamp": 1795170180000, "webhookEvent": "jira:issue_updated",
            "issue": jira_issue(status_id="10001", category="done"),
            "changelog": {"id": "1", "items": [{"field": "status", "from": "3", "to": "10001"}]}}
    requests_mock.get(
        f"{SITE}/rest/api/3/status",
        json=[  # the "from" category (FLOWS §5), cached
            {"id": "3", "statusCategory": {"key": "indeterminate"}},
            {"id": "10001", "statusCategory": {"key": "done"}},
        ],
    )
    assert send_webhook(client, json.loads(json.dumps(body))).status_code == 200
    run_jobs()  # the worker applies the recorded change (and asks Jira for the "from" category)
    db.session.expire_all()
    assert db.session.get(m.Group, s["group_id"]).status == "resolved"
    # No write back to Jira, and the system change is not posted to the Slack thread.
    assert [(x.method, x.url) for x in requests_mock.request_history] == [
        ("GET", f"{SITE}/rest/api/3/status")
    ]
    assert db.session.scalar(select(m.OutboxEntry.id)) is None
