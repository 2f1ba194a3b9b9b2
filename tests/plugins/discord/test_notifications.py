"""Issue alerts in a channel, and user activity in the alert's thread (full flows through the REST API)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.plugins.discord.conftest import API, BOT_TOKEN, CHANNEL_ID, GUILD_ID
from tests.support.specs import assert_valid_requests

MESSAGES_URL = f"{API}/channels/{CHANNEL_ID}/messages"
ALERT_ID = "1200000000000000001"
THREAD_ID = "1300000000000000001"
THREAD_URL = f"{API}/channels/{CHANNEL_ID}/messages/{ALERT_ID}/threads"
THREAD_MESSAGES_URL = f"{API}/channels/{THREAD_ID}/messages"


@pytest.fixture
def hub(client, factories):
    s = factories.setup()
    integration = factories.integration(s["org"], "discord", GUILD_ID, name="Acme Server")
    r = client.post(
        "/api/0/projects/acme/backend/rules/",
        headers=s["headers"],
        json={
            "name": "Page the team",
            "conditions": [{"id": "every_event"}],
            "actions": [{"integrationId": str(integration.id), "channelId": CHANNEL_ID}],
        },
    )
    assert r.status_code == 201, r.json
    return {**s, "integration": integration, "integration_id": integration.id}


def send_event(client, hub, **event):
    r = client.post(
        "/api/0/projects/acme/backend/events/",
        headers=hub["headers"],
        json={"message": "ZeroDivisionError: division by zero", "culprit": "app.views.divide", **event},
    )
    assert r.status_code == 201, r.json
    return r.json["groupId"]


def calls(requests_mock, method, url):
    return [r for r in requests_mock.request_history if r.method == method and r.url == url]


def outbox(kind):
    from sqlalchemy import select

    from hub import models as m
    from hub.extensions import db

    db.session.expire_all()
    return db.session.scalars(select(m.OutboxEntry).where(m.OutboxEntry.kind == kind)).all()


def test_alert_then_thread_replies(client, hub, run_jobs, requests_mock):
    requests_mock.post(MESSAGES_URL, json={"id": ALERT_ID, "channel_id": CHANNEL_ID})
    requests_mock.post(THREAD_URL, json={"id": THREAD_ID, "name": "x", "type": 11})
    requests_mock.post(THREAD_MESSAGES_URL, json={"id": "1300000000000000009", "channel_id": THREAD_ID})

    gid = send_event(client, hub, level="warning")
    run_jobs()
    issue = client.get(f"/api/0/organizations/acme/issues/{gid}/", headers=hub["headers"]).json
    [alert] = calls(requests_mock, "POST", MESSAGES_URL)
    assert alert.headers["Authorization"] == f"Bot {BOT_TOKEN}"
    assert alert.json() == {
        "embeds": [
            {
                "title": "ZeroDivisionError: division by zero",
                "url": f"http://hub.test/organizations/acme/issues/{gid}/",
                "color": 0xF5B000,
                "footer": {"text": f"{issue['shortId']} via Page the team"},
                "description": "app.views.divide",
            }
        ],
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 2, "label": "Resolve", "custom_id": f"resolve:{gid}"},
                    {"type": 2, "style": 2, "label": "Archive", "custom_id": f"archive:{gid}"},
                    {"type": 2, "style": 2, "label": "Assign…", "custom_id": f"assign_dialog:{gid}"},
                ],
            }
        ],
    }

    # A second alert for the same issue goes into the alert's thread (started once, FLOWS §10).
    send_event(client, hub)
    run_jobs()
    assert len(calls(requests_mock, "POST", MESSAGES_URL)) == 1
    [second] = calls(requests_mock, "POST", THREAD_MESSAGES_URL)
    assert second.json() == alert.json()

    # A user's resolve goes into the same thread; later activity too.
    r = client.put(
        f"/api/0/organizations/acme/issues/{gid}/", json={"status": "resolved"}, headers=hub["headers"]
    )
    assert r.status_code == 200
    run_jobs()
    [thread] = calls(requests_mock, "POST", THREAD_URL)
    assert thread.json() == {
        "name": f"{issue['shortId']}: ZeroDivisionError: division by zero",
        "auto_archive_duration": 10080,
    }
    r = client.put(
        f"/api/0/organizations/acme/issues/{gid}/",
        json={"assignedTo": "owner@example.com"},
        headers=hub["headers"],
    )
    assert r.status_code == 200
    run_jobs()
    assert len(calls(requests_mock, "POST", THREAD_URL)) == 1
    replies = [r.json() for r in calls(requests_mock, "POST", THREAD_MESSAGES_URL)][1:]
    assert replies == [
        {"content": f"Owner resolved {issue['shortId']}", "allowed_mentions": {"parse": []}},
        {
            "content": f"Owner assigned {issue['shortId']} to owner@example.com",
            "allowed_mentions": {"parse": []},
        },
    ]
    assert all(e.status == "done" for e in outbox("notify_activity"))
    assert assert_valid_requests("discord", requests_mock.request_history, API) == 5


def test_rate_limited_alert_is_retried_after_retry_after(client, hub, run_jobs, requests_mock):
    requests_mock.post(
        MESSAGES_URL,
        [
            {
                "status_code": 429,
                "headers": {"Retry-After": "3"},
                "json": {"message": "You are being rate limited.", "retry_after": 2.5, "global": False},
            },
            {"json": {"id": ALERT_ID, "channel_id": CHANNEL_ID}},
        ],
    )
    send_event(client, hub)
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run_jobs()
    finished = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    [entry] = outbox("notify_issue_alert")
    assert entry.status == "pending"
    assert "rate limited" in entry.last_error
    next_attempt = entry.next_attempt_at.replace(tzinfo=None)
    # Retry-After 3 s from the moment of the 429, which fell between started and finished
    assert (next_attempt - started).total_seconds() >= 2.0 and (
        next_attempt - finished
    ).total_seconds() <= 4.0
    run_jobs(now=True)
    [entry] = outbox("notify_issue_alert")
    assert entry.status == "done"
    assert len(requests_mock.request_history) == 2
    assert assert_valid_requests("discord", requests_mock.request_history, API) == 2


def test_unauthorized_bot_marks_the_integration(client, hub, run_jobs, requests_mock):
    requests_mock.post(MESSAGES_URL, status_code=403, json={"message": "Missing Permissions", "code": 50013})
    send_event(client, hub)
    run_jobs()
    r = client.get(f"/api/0/organizations/acme/integrations/{hub['integration_id']}/", headers=hub["headers"])
    assert r.json["status"] == "needs_attention"
    assert "Missing Permissions" in r.json["error"]
    assert outbox("notify_issue_alert")[0].status == "failed"
    assert assert_valid_requests("discord", requests_mock.request_history, API) == 1


def test_one_failing_thread_does_not_block_the_others(client, factories, run_jobs, requests_mock):
    s = factories.setup()
    integration = factories.integration(s["org"], "discord", GUILD_ID)
    group = factories.group(s["project"])
    factories.parent(group, integration, CHANNEL_ID, ALERT_ID)
    factories.parent(
        group,
        integration,
        "1298471650000000177",
        "1200000000000000077",
        data={"thread_id": "1300000000000000077"},
    )
    failing_url = f"{API}/channels/1300000000000000077/messages"
    requests_mock.post(THREAD_URL, json={"id": THREAD_ID})
    requests_mock.post(THREAD_MESSAGES_URL, json={"id": "1300000000000000009"})
    requests_mock.post(
        failing_url,
        [{"status_code": 502, "json": {"message": "Bad Gateway"}}, {"json": {"id": "1300000000000000078"}}],
    )
    group_id = group.id
    r = client.put(
        f"/api/0/organizations/acme/issues/{group_id}/", json={"status": "ignored"}, headers=s["headers"]
    )
    assert r.status_code == 200
    run_jobs()
    assert len(calls(requests_mock, "POST", THREAD_MESSAGES_URL)) == 1
    [entry] = outbox("notify_activity")
    assert entry.status == "pending" and "502" in entry.last_error
    run_jobs(now=True)
    assert outbox("notify_activity")[0].status == "done"
    assert len(calls(requests_mock, "POST", THREAD_MESSAGES_URL)) == 1  # not posted twice
    assert len(calls(requests_mock, "POST", failing_url)) == 2
    assert len(calls(requests_mock, "POST", THREAD_URL)) == 1
    assert assert_valid_requests("discord", requests_mock.request_history, API) == 4


def test_existing_thread_on_the_message_is_reused(client, factories, run_jobs, requests_mock):
    s = factories.setup()
    integration = factories.integration(s["org"], "discord", GUILD_ID)
    group = factories.group(s["project"])
    factories.parent(group, integration, CHANNEL_ID, ALERT_ID)
    group_id = group.id
    requests_mock.post(
        THREAD_URL,
        status_code=400,
        json={"message": "A thread has already been created for this message", "code": 160004},
    )
    by_message_id = f"{API}/channels/{ALERT_ID}/messages"
    requests_mock.post(by_message_id, json={"id": "1300000000000000009"})
    client.put(
        f"/api/0/organizations/acme/issues/{group.id}/", json={"status": "resolved"}, headers=s["headers"]
    )
    run_jobs()
    assert len(calls(requests_mock, "POST", by_message_id)) == 1
    assert outbox("notify_activity")[0].status == "done"
    client.put(
        f"/api/0/organizations/acme/issues/{group_id}/", json={"status": "unresolved"}, headers=s["headers"]
    )
    run_jobs()
    assert len(calls(requests_mock, "POST", THREAD_URL)) == 1
    assert len(calls(requests_mock, "POST", by_message_id)) == 2
    assert assert_valid_requests("discord", requests_mock.request_history, API) == 3


def test_rate_limited_thread_reply_waits_for_retry_after(client, factories, run_jobs, requests_mock):
    s = factories.setup()
    integration = factories.integration(s["org"], "discord", GUILD_ID)
    group = factories.group(s["project"])
    factories.parent(group, integration, CHANNEL_ID, ALERT_ID, data={"thread_id": THREAD_ID})
    group_id = group.id
    requests_mock.post(
        THREAD_MESSAGES_URL,
        [
            {"status_code": 429, "json": {"message": "You are being rate limited.", "retry_after": 7.0}},
            {"json": {"id": "1300000000000000009"}},
        ],
    )
    client.put(
        f"/api/0/organizations/acme/issues/{group_id}/", json={"status": "resolved"}, headers=s["headers"]
    )
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run_jobs()
    finished = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    [entry] = outbox("notify_activity")
    assert entry.status == "pending" and entry.last_error == "RetryLater(seconds=7)"
    next_attempt = entry.next_attempt_at.replace(tzinfo=None)
    assert (next_attempt - started).total_seconds() >= 6.0 and (
        next_attempt - finished
    ).total_seconds() <= 8.0
    run_jobs(now=True)
    assert outbox("notify_activity")[0].status == "done"
    assert len(calls(requests_mock, "POST", THREAD_URL)) == 0
    assert assert_valid_requests("discord", requests_mock.request_history, API) == 2


def test_parent_is_the_rule_channel_whatever_channel_discord_answers(client, hub, run_jobs, requests_mock):
    """The answer's ``channel_id`` may differ (a mock's example): the next alert still goes into the
    parent's thread, and the thread starts on the rule's channel, once."""
    requests_mock.post(MESSAGES_URL, json={"id": ALERT_ID, "channel_id": "1234567890123456789"})
    requests_mock.post(THREAD_URL, json={"id": THREAD_ID, "name": "x", "type": 11})
    requests_mock.post(THREAD_MESSAGES_URL, json={"id": "1300000000000000009", "channel_id": THREAD_ID})
    gid = send_event(client, hub)
    run_jobs()
    send_event(client, hub)
    run_jobs()
    [first] = (r.json() for r in calls(requests_mock, "POST", MESSAGES_URL))
    assert "message_reference" not in first
    assert len(calls(requests_mock, "POST", THREAD_MESSAGES_URL)) == 1  # the second alert, in the thread
    r = client.put(
        f"/api/0/organizations/acme/issues/{gid}/", json={"status": "resolved"}, headers=hub["headers"]
    )
    assert r.status_code == 200
    run_jobs()
    assert len(calls(requests_mock, "POST", THREAD_URL)) == 1
    assert len(calls(requests_mock, "POST", THREAD_MESSAGES_URL)) == 2  # the second alert, then the resolve


def test_a_channel_id_never_steers_the_bots_path(client, factories, run_jobs, requests_mock):
    """Issue 10 item 2, elsewhere: every path segment built from input is escaped (hub.http's one
    helper), so a channel id cannot send the bot's token to another Discord route."""
    import requests_mock as rm

    from hub import models as m
    from hub.extensions import db

    s = factories.setup()
    integration = factories.integration(s["org"], "discord", GUILD_ID, name="Acme Server")
    # The API refuses such a channel id (test_a_rule_naming_no_discord_channel_is_400): a rule stored
    # before that check still sends nothing but Discord's own route.
    db.session.add(m.AlertRule(project_id=s["project"].id, name="x", conditions=[{"id": "every_event"}],
                               actions=[{"integrationId": str(integration.id),
                                         "channelId": "../../guilds/1/bans/2?x=#"}]))
    db.session.commit()
    requests_mock.register_uri(rm.ANY, rm.ANY, status_code=404,
                               json={"message": "Unknown Channel", "code": 10003})

    send_event(client, {**s, "integration": integration})
    run_jobs()

    [sent] = requests_mock.request_history
    assert sent.url == f"{API}/channels/..%2F..%2Fguilds%2F1%2Fbans%2F2%3Fx%3D%23/messages"


@pytest.mark.parametrize("channel_id", ["../../x", "general", "#alerts", "1" * 21, "12 34"])
def test_a_rule_naming_no_discord_channel_is_400(client, hub, requests_mock, channel_id):
    """A Discord channel id is a snowflake: a rule naming anything else is refused, not stored to
    send requests Discord's API refuses (the path's channel_id) for every alert."""
    from sqlalchemy import func, select

    from hub import models as m
    from hub.extensions import db

    r = client.post("/api/0/projects/acme/backend/rules/", headers=hub["headers"], json={
        "name": "Wrong channel", "conditions": [{"id": "every_event"}],
        "actions": [{"integrationId": str(hub["integration_id"]), "channelId": channel_id}]})
    assert r.status_code == 400 and r.json["detail"] == "Not a channel id of that integration."
    assert r.json["errors"] == {"actions": [f"{channel_id!r} is not a discord channel id."]}
    assert db.session.scalar(select(func.count()).select_from(m.AlertRule)) == 1  # the fixture's rule only
    [rule] = client.get("/api/0/projects/acme/backend/rules/", headers=hub["headers"]).json
    r = client.put(f"/api/0/projects/acme/backend/rules/{rule['id']}/", headers=hub["headers"], json={
        "name": "Wrong channel", "conditions": [{"id": "every_event"}],
        "actions": [{"integrationId": str(hub["integration_id"]), "channelId": channel_id}]})
    assert r.status_code == 400
    db.session.expire_all()
    assert db.session.get(m.AlertRule, int(rule["id"])).actions[0]["channelId"] == CHANNEL_ID
    assert requests_mock.request_history == []
