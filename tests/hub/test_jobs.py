"""The outbox: committed with the change, relayed to RQ, retried with backoff, dead and visible."""

from __future__ import annotations

import datetime as dt
import json

import requests
from sqlalchemy import select

from hub import models as m
from hub.extensions import db
from hub.jobs import relay
from hub.models.base import utcnow
from tests.hub.conftest import TRACKER, post_event


def _resolve(client, env, group):
    r = client.put(f"/api/0/organizations/acme/issues/{group.id}/", json={"status": "resolved"},
                   headers=env["headers"])
    assert r.status_code == 200


def _rows():
    db.session.expire_all()
    return db.session.scalars(select(m.OutboxEntry).order_by(m.OutboxEntry.date_created)).all()


def test_change_and_outbox_row_commit_together_and_job_id_is_outbox_id(client, env, factories, app):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    _resolve(client, env, group)
    [row] = _rows()
    assert row.kind == "sync_status_outbound" and row.status == "enqueued"
    assert row.payload["is_resolved"] is True and row.payload["external_issue_id"]
    from rq.job import Job

    job = Job.fetch(row.id, connection=app.extensions["hub_queue"].redis,
                    serializer=app.extensions["hub_queue"].queue().serializer)
    assert job.args == [row.id] and job.func_name == "hub.jobs.run_outbox"


def test_redis_down_keeps_rows_then_relay_sends_them(make_app, factories, requests_mock):
    from tests.hub.conftest import ALL_SYNC

    down = make_app(HUB_REDIS_URL="redis://127.0.0.1:1/0")
    with down.app_context():
        s = factories.setup()
        tracker = factories.integration(s["org"], "tracker", "site-1", {"base_url": TRACKER, "token": "t"},
                                        config=ALL_SYNC)
        group = factories.group(s["project"])
        factories.link(group, tracker, "TR-1")
        r = down.test_client().put(
            f"/api/0/organizations/acme/issues/{group.id}/", json={"status": "resolved"}, headers=s["headers"]
        )
        assert r.status_code == 200  # the API still succeeds
        [row] = _rows()
        assert row.status == "pending"  # nothing lost, waiting for Redis
    up = make_app()
    with up.app_context():
        assert relay() == 1
        requests_mock.get(f"{TRACKER}/issues/TR-1", json={"key": "TR-1", "state": "open"})
        requests_mock.put(f"{TRACKER}/issues/TR-1/state", json={})
        from hub.cli import run_worker

        run_worker(burst=True)
        assert _rows()[0].status == "done"
        assert requests_mock.request_history[-1].json() == {"state": "closed"}


def test_transient_failures_retry_with_backoff_then_die(client, env, factories, run_jobs, requests_mock, app):
    app.config["HUB_OUTBOX_MAX_ATTEMPTS"] = 3
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    requests_mock.get(f"{TRACKER}/issues/TR-1", status_code=503, text="down")
    _resolve(client, env, group)
    before = utcnow()
    run_jobs()
    after = utcnow()
    row = _rows()[0]
    assert row.status == "pending" and row.attempts == 1 and "503" in row.last_error
    # base 60 s in tests, ±50% jitter, counted from when the job ran (1 s for the column's precision)
    assert (row.next_attempt_at - before).total_seconds() >= 30 - 1
    assert (row.next_attempt_at - after).total_seconds() <= 90
    run_jobs(now=True)
    assert _rows()[0].status == "pending" and _rows()[0].attempts == 2
    run_jobs(now=True)
    row = _rows()[0]
    assert row.status == "dead" and row.attempts == 3
    requests_mock.get(f"{TRACKER}/issues/TR-1", json={"key": "TR-1", "state": "open"})
    requests_mock.put(f"{TRACKER}/issues/TR-1/state", json={})
    runner = app.test_cli_runner()
    out = runner.invoke(args=["outbox", "--failed"])
    assert row.id in out.output and "dead" in out.output
    out = runner.invoke(args=["outbox", "retry", row.id])
    assert out.exit_code == 0, out.output
    run_jobs()
    assert _rows()[0].status == "done"


def test_timeouts_retry_and_retry_after_is_honoured(client, env, factories, run_jobs, requests_mock):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    requests_mock.get(f"{TRACKER}/issues/TR-1", exc=requests.exceptions.ConnectTimeout)
    _resolve(client, env, group)
    run_jobs()
    assert _rows()[0].status == "pending" and "ApiTimeoutError" in _rows()[0].last_error
    requests_mock.get(f"{TRACKER}/issues/TR-1", status_code=429, headers={"Retry-After": "120"})
    run_jobs(now=True)
    row = _rows()[0]
    assert row.status == "pending" and 115 < (row.next_attempt_at - utcnow()).total_seconds() <= 120


def test_401_marks_integration_needing_attention(client, env, factories, run_jobs, requests_mock):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    requests_mock.get(f"{TRACKER}/issues/TR-1", status_code=401, json={"message": "token revoked"})
    _resolve(client, env, group)
    run_jobs()
    assert _rows()[0].status == "failed"
    [item] = client.get("/api/0/organizations/acme/integrations/", headers=env["headers"]).json
    assert item["status"] == "needs_attention" and "token revoked" in item["error"]


def test_skipped_outcome_is_recorded(client, env, factories, run_jobs, requests_mock):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    requests_mock.get(f"{TRACKER}/issues/TR-1", json={"key": "TR-1", "state": "closed"})
    _resolve(client, env, group)
    run_jobs()
    row = _rows()[0]
    assert row.status == "skipped" and row.outcome == "already in target status"
    assert all(r.method == "GET" for r in requests_mock.request_history)


def test_lost_jobs_are_re_enqueued(client, env, factories, run_jobs, requests_mock, app):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    _resolve(client, env, group)
    app.extensions["hub_queue"].redis.flushdb()  # Redis restarted without persistence
    row = _rows()[0]
    row.enqueued_at = utcnow() - dt.timedelta(minutes=10)
    db.session.commit()
    requests_mock.get(f"{TRACKER}/issues/TR-1", json={"key": "TR-1", "state": "open"})
    requests_mock.put(f"{TRACKER}/issues/TR-1/state", json={})
    assert run_jobs() == 1
    assert _rows()[0].status == "done"


def test_async_off_runs_jobs_inline(make_app, factories, requests_mock):
    from tests.hub.conftest import ALL_SYNC

    app = make_app(HUB_ASYNC=False)
    with app.app_context():
        s = factories.setup()
        tracker = factories.integration(s["org"], "tracker", "site-1", {"base_url": TRACKER, "token": "t"},
                                        config=ALL_SYNC)
        group = factories.group(s["project"])
        factories.link(group, tracker, "TR-1")
        requests_mock.get(f"{TRACKER}/issues/TR-1", json={"key": "TR-1", "state": "open"})
        requests_mock.put(f"{TRACKER}/issues/TR-1/state", json={})
        app.test_client().put(f"/api/0/organizations/acme/issues/{group.id}/", json={"status": "resolved"},
                              headers=s["headers"])
        assert _rows()[0].status == "done"
        assert requests_mock.request_history[-1].json() == {"state": "closed"}


def test_alert_rules_notify_and_threads_follow(client, env, run_jobs, requests_mock):
    h = env["headers"]
    client.post("/api/0/projects/acme/backend/rules/", json={
        "name": "new issues", "conditions": [{"id": "first_seen_event"}, {"id": "regression_event"}],
        "actions": [{"integrationId": str(env["tracker"].id), "channelId": "alerts"}]}, headers=h)
    requests_mock.post(f"{TRACKER}/messages", json={"id": "msg-1"})
    gid = post_event(client, h)["groupId"]
    post_event(client, h)  # not new: no second alert
    assert run_jobs() == 1
    assert requests_mock.last_request.json() == {
        "channel": "alerts",
        "text": "New issue BACKEND-1: ZeroDivisionError: division by zero",
    }
    parent = db.session.scalar(select(m.NotificationMessage))
    assert (parent.channel_id, parent.message_id, parent.group_id) == ("alerts", "msg-1", int(gid))
    client.put(f"/api/0/organizations/acme/issues/{gid}/", json={"status": "resolved"}, headers=h)
    requests_mock.reset_mock()
    run_jobs()
    bodies = [r.json() for r in requests_mock.request_history if r.method == "POST"]
    assert bodies == [
        {"channel": "alerts", "text": "owner@example.com set_resolved BACKEND-1", "thread": "msg-1"}
    ]
    requests_mock.reset_mock()
    post_event(client, h)  # regression: a second alert goes into the thread; system activity is not posted
    run_jobs()
    bodies = [r.json() for r in requests_mock.request_history if r.method == "POST"]
    assert bodies == [
        {
            "channel": "alerts",
            "text": "New issue BACKEND-1: ZeroDivisionError: division by zero",
            "thread": "msg-1",
        }
    ]
    assert db.session.scalar(select(m.Group.status)) == "unresolved"


def test_a_deferred_tasks_payload_is_stored_encrypted(app, factories):
    from hub import services

    s = factories.setup()
    integration = factories.integration(s["org"], "tracker", "site-sealed", {"token": "t"})
    secret_url = "https://hooks.example.org/actions/T1/123/capability-secret"

    entry_id = services.defer(str(integration.id), "redraw", {"response_url": secret_url})

    row = db.session.get(m.OutboxEntry, entry_id)
    assert row.kind == "run_task" and row.payload["task"] == "redraw"
    assert secret_url not in json.dumps(row.payload)  # at rest: only the ciphertext
    from hub.crypto import decrypt_json

    assert decrypt_json(row.payload["sealed_payload"]) == {"response_url": secret_url}
