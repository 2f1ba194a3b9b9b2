"""Issue alerts (chat.postMessage with actions), thread replies for user activity, invite requests."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from hub import models as m
from hub.extensions import db
from tests.plugins.slack.helpers import API, BOT_TOKEN, issue
from tests.support.specs import assert_valid_requests

POST_MESSAGE = f"{API}/chat.postMessage"


def _rule(client, env, condition="first_seen_event", channel="C07ONCALL"):
    r = client.post(
        "/api/0/projects/acme/backend/rules/",
        headers=env["headers"],
        json={
            "name": "Slack alerts",
            "conditions": [{"id": condition}],
            "actions": [{"integrationId": env["integration_id"], "channelId": channel}],
        },
    )
    assert r.status_code == 201, r.json
    return r.json["id"]


def _event(client, env, message="KeyError: 'user'", culprit="app.handlers.login"):
    r = client.post(
        "/api/0/projects/acme/backend/events/",
        headers=env["headers"],
        json={"message": message, "culprit": culprit, "level": "error"},
    )
    assert r.status_code == 201, r.json
    return r.json["groupId"]


def _expected_alert(data, rule_id, members):
    first_seen = int(dt.datetime.fromisoformat(data["firstSeen"].replace("Z", "+00:00")).timestamp())
    return {
        "channel": "C07ONCALL",
        "text": f"[backend] {data['shortId']}: {data['title']}",
        "blocks": [
            {
                "type": "section",
                "block_id": json.dumps({"issue": int(data["id"]), "rule": int(rule_id)}),
                "text": {
                    "type": "mrkdwn",
                    "text": f"<http://hub.test/organizations/acme/issues/{data['id']}/|*KeyError: 'user'*>"
                    "\napp.handlers.login",
                },
            },
            {
                "type": "context",
                "block_id": "details",
                "elements": [
                    {"type": "mrkdwn", "text": "*Project:* backend"},
                    {"type": "mrkdwn", "text": "*Level:* error"},
                    {"type": "mrkdwn", "text": f"*Events:* {data['count']}"},
                    {
                        "type": "mrkdwn",
                        "text": f"*First seen:* <!date^{first_seen}^{{date_short_pretty}} at {{time}}"
                        f"|{data['firstSeen']}>",
                    },
                    {"type": "mrkdwn", "text": "*Status:* unresolved"},
                ],
            },
            {
                "type": "actions",
                "block_id": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "status",
                        "text": {"type": "plain_text", "text": "Resolve"},
                        "value": "resolved",
                        "style": "primary",
                    },
                    {
                        "type": "button",
                        "action_id": "archive_dialog",
                        "text": {"type": "plain_text", "text": "Archive"},
                        "value": "archive_dialog",
                    },
                    {
                        "type": "static_select",
                        "action_id": "assign",
                        "placeholder": {"type": "plain_text", "text": "Select Assignee..."},
                        "options": [
                            {"text": {"type": "plain_text", "text": name}, "value": f"user:{uid}"}
                            for name, uid in members
                        ],
                    },
                ],
            },
        ],
        "unfurl_links": False,
        "unfurl_media": False,
    }


def test_alert_is_posted_with_actions_and_stored_as_parent(client, env, run_jobs, requests_mock):
    requests_mock.post(POST_MESSAGE, json={"ok": True, "channel": "C07ONCALL", "ts": "1700000000.000100"})
    rule_id = _rule(client, env)
    group_id = _event(client, env)
    run_jobs()
    assert len(requests_mock.request_history) == 1
    sent = requests_mock.request_history[0]
    assert sent.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    members = [("Jess", env["jess_id"]), ("Owner", env["owner_id"])]
    assert sent.json() == _expected_alert(issue(client, env, group_id), rule_id, members)
    assert assert_valid_requests("slack", requests_mock.request_history, API) == 1
    parents = db.session.scalars(db.select(m.NotificationMessage)).all()
    assert [(p.group_id, p.channel_id, p.message_id, p.rule_id) for p in parents] == [
        (int(group_id), "C07ONCALL", "1700000000.000100", int(rule_id))
    ]


def test_second_alert_for_the_issue_goes_into_the_thread(client, env, run_jobs, requests_mock):
    requests_mock.post(
        POST_MESSAGE,
        [
            {"json": {"ok": True, "channel": "C07ONCALL", "ts": "1700000000.000100"}},
            {"json": {"ok": True, "channel": "C07ONCALL", "ts": "1700000099.000200"}},
        ],
    )
    _rule(client, env, condition="every_event")
    _event(client, env)
    run_jobs()
    _event(client, env)
    run_jobs()
    first, second = (r.json() for r in requests_mock.request_history)
    assert "thread_ts" not in first
    assert second["thread_ts"] == "1700000000.000100"
    assert db.session.scalar(db.select(db.func.count()).select_from(m.NotificationMessage)) == 1
    assert assert_valid_requests("slack", requests_mock.request_history, API) == 2


def test_thread_follows_the_rule_channel_not_slacks_answer(client, env, run_jobs, requests_mock):
    """Slack's answer may name the channel differently (a name resolved to an id, a mock's example):
    the next alert still goes into the thread, and replies go to the rule's channel, once."""
    requests_mock.post(POST_MESSAGE, json={"ok": True, "channel": "C1H9RESGL", "ts": "1700000000.000100"})
    _rule(client, env, condition="every_event")
    group_id = _event(client, env)
    run_jobs()
    _event(client, env)
    run_jobs()
    r = client.put(
        f"/api/0/organizations/acme/issues/{group_id}/", json={"status": "resolved"}, headers=env["headers"]
    )
    assert r.status_code == 200
    run_jobs()
    first, second, reply = (r.json() for r in requests_mock.request_history)
    assert "thread_ts" not in first
    assert (second["channel"], second["thread_ts"]) == ("C07ONCALL", "1700000000.000100")
    assert (reply["channel"], reply["thread_ts"]) == ("C07ONCALL", "1700000000.000100")
    assert db.session.scalar(db.select(db.func.count()).select_from(m.NotificationMessage)) == 1
    assert assert_valid_requests("slack", requests_mock.request_history, API) == 3


def test_resolving_in_the_hub_replies_in_the_thread(client, env, run_jobs, requests_mock):
    requests_mock.post(
        POST_MESSAGE,
        [
            {"json": {"ok": True, "channel": "C07ONCALL", "ts": "1700000000.000100"}},
            {"json": {"ok": True, "channel": "C07ONCALL", "ts": "1700000005.000300"}},
        ],
    )
    _rule(client, env)
    group_id = _event(client, env)
    run_jobs()
    short_id = issue(client, env, group_id)["shortId"]
    r = client.put(
        f"/api/0/organizations/acme/issues/{group_id}/", json={"status": "resolved"}, headers=env["headers"]
    )
    assert r.status_code == 200
    run_jobs()
    assert len(requests_mock.request_history) == 2
    assert requests_mock.request_history[1].json() == {
        "channel": "C07ONCALL",
        "text": f"Owner resolved {short_id}",
        "thread_ts": "1700000000.000100",
        "unfurl_links": False,
    }
    assert assert_valid_requests("slack", requests_mock.request_history, API) == 2


def test_assignment_reply_names_the_assignee(client, env, run_jobs, requests_mock):
    requests_mock.post(POST_MESSAGE, json={"ok": True, "channel": "C07ONCALL", "ts": "1700000000.000100"})
    _rule(client, env)
    group_id = _event(client, env)
    run_jobs()
    short_id = issue(client, env, group_id)["shortId"]
    client.put(
        f"/api/0/organizations/acme/issues/{group_id}/",
        json={"assignedTo": "jess@example.com"},
        headers=env["headers"],
    )
    run_jobs()
    assert (
        requests_mock.request_history[-1].json()["text"] == f"Owner assigned {short_id} to jess@example.com"
    )


def test_one_broken_thread_does_not_stop_the_others(client, env, factories, run_jobs, requests_mock):
    group = env["group"]
    factories.parent(group, env["integration"], "C0GONE", "1700000000.000001")
    factories.parent(group, env["integration"], "C07ONCALL", "1700000000.000002")

    def answer(request, context):
        if request.json()["channel"] == "C0GONE":
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": "C07ONCALL", "ts": "1700000001.000000"}

    requests_mock.post(POST_MESSAGE, json=answer)
    client.put(
        f"/api/0/organizations/acme/issues/{env['group_id']}/",
        json={"status": "ignored"},
        headers=env["headers"],
    )
    run_jobs()
    assert [r.json()["channel"] for r in requests_mock.request_history] == ["C0GONE", "C07ONCALL"]
    assert requests_mock.request_history[1].json()["text"] == f"Owner archived {env['short_id']}"
    row = db.session.scalar(db.select(m.OutboxEntry).where(m.OutboxEntry.kind == "notify_activity"))
    assert row.status == "done"  # channel_not_found is permanent: logged, not retried


def test_retryable_failure_retries_only_the_failed_thread(
    app, client, env, factories, run_jobs, requests_mock, monkeypatch
):
    monkeypatch.setitem(
        app.config, "HUB_OUTBOX_BACKOFF_BASE", 60.0
    )  # the retry waits until run_jobs(now=True)
    group = env["group"]
    factories.parent(group, env["integration"], "C0BUSY", "1700000000.000001")
    factories.parent(group, env["integration"], "C07ONCALL", "1700000000.000002")
    busy = iter([{"ok": False, "error": "internal_error"}, {"ok": True, "channel": "C0BUSY", "ts": "2.0"}])

    def answer(request, context):
        if request.json()["channel"] == "C0BUSY":
            return next(busy)
        return {"ok": True, "channel": "C07ONCALL", "ts": "1.0"}

    requests_mock.post(POST_MESSAGE, json=answer)
    client.put(
        f"/api/0/organizations/acme/issues/{env['group_id']}/",
        json={"status": "resolved"},
        headers=env["headers"],
    )
    run_jobs()
    assert [r.json()["channel"] for r in requests_mock.request_history] == ["C0BUSY", "C07ONCALL"]
    row = db.session.scalar(db.select(m.OutboxEntry).where(m.OutboxEntry.kind == "notify_activity"))
    assert row.status == "pending" and "503" in row.last_error
    run_jobs(now=True)
    assert [r.json()["channel"] for r in requests_mock.request_history] == ["C0BUSY", "C07ONCALL", "C0BUSY"]
    row = db.session.scalar(db.select(m.OutboxEntry).where(m.OutboxEntry.kind == "notify_activity"))
    assert (row.status, row.attempts) == ("done", 2)
    assert "503" in row.last_error


def test_rate_limit_is_retried_after_retry_after(client, env, run_jobs, requests_mock):
    requests_mock.post(
        POST_MESSAGE,
        status_code=429,
        headers={"Retry-After": "30"},
        json={"ok": False, "error": "ratelimited"},
    )
    _rule(client, env)
    _event(client, env)
    run_jobs()
    row = db.session.scalar(db.select(m.OutboxEntry).where(m.OutboxEntry.kind == "notify_issue_alert"))
    assert row.status == "pending"
    wait = (row.next_attempt_at - row.date_updated).total_seconds()
    assert 29 <= wait <= 31


@pytest.mark.parametrize(
    ("error", "status", "needs_attention"),
    [
        ("invalid_auth", "failed", True),
        ("channel_not_found", "failed", False),
        ("service_unavailable", "pending", False),
    ],
)
def test_ok_false_errors_are_classified(client, env, run_jobs, requests_mock, error, status, needs_attention):
    requests_mock.post(POST_MESSAGE, json={"ok": False, "error": error})
    _rule(client, env)
    _event(client, env)
    run_jobs()
    row = db.session.scalar(db.select(m.OutboxEntry).where(m.OutboxEntry.kind == "notify_issue_alert"))
    assert row.status == status
    assert error in row.last_error
    listed = client.get("/api/0/organizations/acme/integrations/", headers=env["headers"]).json
    assert (listed[0]["status"] == "needs_attention") is needs_attention
