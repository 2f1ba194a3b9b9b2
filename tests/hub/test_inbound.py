"""Inbound v2's recording and applying (hub/inbound.py), through a plugin written from the docs
(tests/support/signed_tracker.py): recorded at the ack, applied by the worker per ticket in event order,
a failed lookup retried, a replay applied again."""

from __future__ import annotations

import json

from sqlalchemy import select

from hub import models as m
from hub.extensions import db
from tests.support.inbound import changes, count, group, post
from tests.support.signed_tracker import BASE

# -- claim, record, ack; apply in the worker --------------------------------------------------


def test_the_ack_records_and_the_worker_applies(client, signed, run_jobs, requests_mock):
    r = post(client, {"delivery": "d1", "key": "APP-1", "state": "closed", "updated_ms": 1000})
    assert r.status_code == 200 and r.json == {"detail": "accepted"}
    assert requests_mock.call_count == 0
    [change] = changes()
    assert (change.state, change.kind, change.ticket_key) == ("pending", "status", "APP-1")
    assert group(signed["group_id"]).status == "unresolved"  # nothing applied in the request

    run_jobs()

    assert group(signed["group_id"]).status == "resolved"
    [change] = changes()
    assert change.state == "applied" and len(change.activity_ids) == 1
    activity = db.session.get(m.Activity, change.activity_ids[0])
    assert activity.type == "set_resolved" and activity.data["integration"] == "signed"
    assert count(m.OutboxEntry, m.OutboxEntry.kind == "sync_status_outbound") == 0  # never echoed back


def test_a_change_that_reached_no_org_stores_no_outcomes(client, signed, run_jobs):
    """An inactive integration's change is skipped before any org is asked: its ``outcomes`` is SQL
    NULL (what a report's ``WHERE outcomes IS NULL`` finds), not the JSON value ``null``."""
    from sqlalchemy import text, update

    db.session.execute(update(m.Integration).where(m.Integration.id == signed["signed"].id)
                       .values(status="disabled"))
    db.session.commit()
    r = post(client, {"delivery": "d1", "key": "APP-1", "state": "closed", "updated_ms": 1000})
    assert r.status_code == 200
    run_jobs()
    [change] = changes()
    assert (change.state, change.reason, change.outcomes) == ("skipped", "integration not active", None)
    assert db.session.scalar(text("SELECT count(*) FROM inbound_changes WHERE outcomes IS NULL")) == 1


def test_pending_changes_are_applied_in_event_order_not_arrival(client, signed, run_jobs):
    post(client, {"delivery": "new", "key": "APP-1", "state": "closed", "updated_ms": 2000})
    post(client, {"delivery": "old", "key": "APP-1", "state": "open", "updated_ms": 1000})
    run_jobs()
    assert group(signed["group_id"]).status == "resolved"
    # the older ran first (the issue was open already), then the newer resolved it
    assert [(c.data["status_id"], c.state) for c in changes()] == [("closed", "applied"), ("open", "skipped")]
    assert changes()[1].date_applied <= changes()[0].date_applied


def test_without_event_times_arrival_order_decides(client, signed, run_jobs):
    post(client, {"delivery": "a", "key": "APP-1", "state": "closed"})
    post(client, {"delivery": "b", "key": "APP-1", "state": "open"})
    run_jobs()
    assert group(signed["group_id"]).status == "unresolved"
    assert [c.state for c in changes()] == ["applied", "applied"]


def test_a_hidden_email_is_looked_up_in_the_worker_and_retried(client, signed, run_jobs, requests_mock):
    requests_mock.get(f"{BASE}/accounts/acc-7", [{"status_code": 503, "json": {}},
                                                  {"json": {"email": "dev@example.com"}}])
    r = post(client, {"delivery": "a", "key": "APP-1", "account": "acc-7", "updated_ms": 1})
    assert r.status_code == 200 and requests_mock.call_count == 0
    run_jobs()
    [change] = changes()
    assert change.state == "pending" and change.attempts == 1 and "could not be asked" in change.error
    db.session.execute(m.InboundChange.__table__.update().values(not_before=None))
    db.session.commit()
    run_jobs()
    assert changes()[0].state == "applied"
    assert group(signed["group_id"]).assignee.user.email == "dev@example.com"


# -- replay --------------------------------------------------------------


def test_replay_applies_the_recorded_changes_again(client, signed, run_jobs):
    post(client, {"delivery": "a", "key": "APP-1", "state": "closed", "updated_ms": 2})
    run_jobs()
    client.put(f"/api/0/organizations/acme/issues/{signed['group_id']}/", json={"status": "unresolved"},
               headers=signed["headers"])
    delivery_id = db.session.scalar(select(m.WebhookDelivery.id))
    out = client.application.test_cli_runner().invoke(args=["replay", str(delivery_id)])
    assert out.exit_code == 0 and out.output.startswith("200"), out.output
    assert group(signed["group_id"]).status == "resolved"
    help_text = client.application.test_cli_runner().invoke(args=["replay", "--help"]).output
    assert "signature" in help_text and "re-checked" in help_text


def test_hub_replay_prints_the_whole_answer_however_many_changes(client, signed, run_jobs):
    """The answer lists every change (with each org's outcome): a script parses all of it as JSON."""
    body = {"delivery": "a", "key": "APP-1", "state": "closed", "assignee": "dev@example.com",
            "comment": "Rolled back the deploy " * 20, "author": "dev@example.com", "updated_ms": 2}
    post(client, body)
    run_jobs()
    delivery_id = db.session.scalar(select(m.WebhookDelivery.id))
    out = client.application.test_cli_runner().invoke(args=["replay", str(delivery_id)])
    assert out.exit_code == 0 and len(out.output) > 1000, out.output
    answer = json.loads(out.output.split(" ", 1)[1])
    assert [c["kind"] for c in answer["changes"]] == [c.kind for c in changes()[:3]]
    assert all(c["outcomes"] == {str(signed["org"].id): {"state": c["state"], "reason": c["reason"]}}
               for c in answer["changes"])


def test_replay_records_a_new_delivery_and_the_original_keeps_what_it_did(client, signed, run_jobs):
    """The delivery log is a history: a replay is a delivery of its own (``replayOf``), with copies of
    the recorded changes; the original's changes keep their state, reason and activities."""
    post(client, {"delivery": "a", "key": "APP-1", "state": "closed", "updated_ms": 2})
    run_jobs()
    [original] = changes()
    first_activities = list(original.activity_ids)
    assert original.state == "applied" and len(first_activities) == 1
    client.put(f"/api/0/organizations/acme/issues/{signed['group_id']}/", json={"status": "unresolved"},
               headers=signed["headers"])
    delivery_id = original.delivery_id

    out = client.application.test_cli_runner().invoke(args=["replay", str(delivery_id)])

    assert out.exit_code == 0 and out.output.startswith("200"), out.output
    answer = json.loads(out.output.split(" ", 1)[1])
    assert answer["replayOf"] == delivery_id and answer["delivery"] != delivery_id
    assert group(signed["group_id"]).status == "resolved"
    shown = client.get(f"/api/0/organizations/acme/deliveries/{delivery_id}/", headers=signed["headers"]).json
    assert (shown["state"], shown["replayOf"]) == ("applied", None)
    assert [(c["state"], c["reason"], c["activityIds"]) for c in shown["changes"]] == [
        ("applied", None, [str(a) for a in first_activities])]
    replay = client.get(f"/api/0/organizations/acme/deliveries/{answer['delivery']}/",
                        headers=signed["headers"]).json
    assert (replay["state"], replay["replayOf"], replay["integrationId"]) == (
        "applied", delivery_id, str(signed["signed"].id))
    [copy] = replay["changes"]
    assert (copy["kind"], copy["ticket"]["key"], copy["data"]["status_id"]) == ("status", "APP-1", "closed")
    assert copy["activityIds"] and copy["activityIds"] != shown["changes"][0]["activityIds"]

    # the API's replay (the sync ledger's button) does the same: a new delivery, the original as it was
    r = client.post(f"/api/0/organizations/acme/deliveries/{delivery_id}/replay/", headers=signed["headers"])
    assert r.status_code == 200 and r.json["replayOf"] == delivery_id
    assert r.json["id"] not in (delivery_id, answer["delivery"])
    assert [c["state"] for c in r.json["changes"]] == ["skipped"]  # resolved already: nothing to do now
    listed = client.get("/api/0/organizations/acme/deliveries/", headers=signed["headers"]).json
    assert [(d["id"], d["replayOf"]) for d in listed] == [
        (r.json["id"], delivery_id), (answer["delivery"], delivery_id), (delivery_id, None)]
    assert listed[2]["changes"] == shown["changes"]



def test_replaying_an_applied_comment_notes_it_once_and_posts_it_once(
        client, signed, run_jobs, factories, requests_mock):
    """A replay must not repeat what is done: the copy of an applied comment is skipped, so the
    issue keeps one note and the alert's thread gets one reply, whichever door replays it."""
    from tests.hub.conftest import TRACKER

    factories.parent(group(signed["group_id"]), signed["tracker"], "C-ONCALL", "alert-1")
    requests_mock.post(f"{TRACKER}/messages", json={"id": "reply-1"})
    post(client, {"delivery": "c1", "key": "APP-1", "comment": "Rolled back the deploy",
                  "author": "dev@example.com", "updated_ms": 5})
    run_jobs()
    assert [r.json() for r in requests_mock.request_history] == [
        {"channel": "C-ONCALL", "text": "dev@example.com note " + group(signed["group_id"]).short_id,
         "thread": "alert-1"}]
    [original] = changes()
    assert original.state == "applied"

    out = client.application.test_cli_runner().invoke(args=["replay", str(original.delivery_id)])
    assert out.exit_code == 0 and out.output.startswith("200"), out.output
    r = client.post(f"/api/0/organizations/acme/deliveries/{original.delivery_id}/replay/",
                    headers=signed["headers"])
    assert r.status_code == 200
    assert [(c["state"], c["reason"]) for c in r.json["changes"]] == [("skipped", "comment already noted")]
    run_jobs()

    assert [(c.state, c.reason) for c in changes()] == [
        ("applied", None), ("skipped", "comment already noted"), ("skipped", "comment already noted")]
    assert count(m.Activity, m.Activity.type == "note") == 1
    assert requests_mock.call_count == 1  # no second reply in the thread
    assert count(m.OutboxEntry, m.OutboxEntry.kind == "notify_activity") == 1


def test_a_delivery_whose_changes_are_pending_is_not_replayed_until_the_worker_settled_them(
        client, signed, run_jobs):
    """A replay then would apply its copies now and the worker the originals later: twice."""
    post(client, {"delivery": "a", "key": "APP-1", "state": "closed", "updated_ms": 2})
    [pending] = changes()
    assert pending.state == "pending"
    out = client.application.test_cli_runner().invoke(args=["replay", str(pending.delivery_id)])
    assert out.exit_code == 1 and "still pending" in out.output, out.output
    r = client.post(f"/api/0/organizations/acme/deliveries/{pending.delivery_id}/replay/",
                    headers=signed["headers"])
    assert r.status_code == 409 and "still pending" in r.json["detail"]
    assert count(m.WebhookDelivery) == 1 and len(changes()) == 1  # nothing recorded, nothing applied
    run_jobs()
    assert [c.state for c in changes()] == ["applied"]
    r = client.post(f"/api/0/organizations/acme/deliveries/{pending.delivery_id}/replay/",
                    headers=signed["headers"])
    assert r.status_code == 200 and r.json["replayOf"] == pending.delivery_id

# -- a batch: one transaction, each change on its own --------------------------------------------


def _corrupt(change_id, **data):
    """A recorded change whose stored data no longer makes sense (written by an older hub, or by hand)."""
    row = db.session.get(m.InboundChange, change_id)
    row.data = {**row.data, **data}
    db.session.commit()


def test_a_change_that_raises_is_failed_and_the_others_in_its_batch_apply(client, signed, run_jobs):
    post(client, {"delivery": "a", "key": "APP-1", "state": "open", "updated_ms": 1000})
    post(client, {"delivery": "b", "key": "APP-1", "state": "closed", "updated_ms": 2000})
    post(client, {"delivery": "c", "key": "APP-1", "state": "open", "updated_ms": 500})
    first, _, unreadable = changes()
    _corrupt(first.id, category=5)  # applying it raises, after its out-of-order guard wrote
    row = db.session.get(m.InboundChange, unreadable.id)
    row.data = {"project_id": ""}  # no status_id: no StatusChange can be read from it
    db.session.commit()

    run_jobs()

    first, second, unreadable = changes()
    assert first.state == "failed" and first.attempts == 1 and first.error
    assert unreadable.state == "failed" and "status_id" in unreadable.error
    assert second.state == "applied" and len(second.activity_ids) == 1
    assert group(signed["group_id"]).status == "resolved"
    assert count(m.Activity, m.Activity.type == "set_resolved") == 1
    run_jobs()  # settled: nothing is tried again
    assert [c.state for c in changes()] == ["failed", "applied", "failed"]


def test_a_ticket_another_worker_is_applying_is_left_to_a_later_sweep(client, signed, hub_database_url):
    from sqlalchemy import create_engine, text

    from hub import inbound

    post(client, {"delivery": "a", "key": "APP-1", "state": "closed", "updated_ms": 1})
    post(client, {"delivery": "b", "key": "APP-2", "state": "closed", "updated_ms": 1})
    integration_id = changes()[0].integration_id
    db.session.remove()
    other = create_engine(hub_database_url)  # another worker, in the middle of applying APP-1
    with other.connect() as worker:
        postgres = other.dialect.name == "postgresql"
        if postgres:
            worker.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                           {"k": inbound._ticket_lock_key(integration_id, "APP-1")})
        settled = inbound.apply_pending()
        worker.rollback()
    other.dispose()
    if postgres:  # APP-1 waits for a sweep of its own; APP-2 (linked to nothing) is settled meanwhile
        assert settled == 1 and [c.state for c in changes()] == ["pending", "skipped"]
        assert group(signed["group_id"]).status == "unresolved"
        assert inbound.apply_pending() == 1
    else:  # SQLite: the write turn lets one worker apply at a time, so no ticket is another's
        assert settled == 2
    assert [c.state for c in changes()] == ["applied", "skipped"]
    assert group(signed["group_id"]).status == "resolved"


# -- waking a worker ------------------------------------------------------------------------------


def _queued(app):
    import time

    from hub import inbound
    from hub.queue import get_queue, get_redis

    deadline = time.monotonic() + 5
    with app.app_context():
        while time.monotonic() < deadline and not get_redis().exists(inbound.WAKE_KEY):
            time.sleep(0.01)
        time.sleep(2 * inbound.WAKE_PENDING_FOR)  # anything the waker would add, added
        return [job.func_name for job in get_queue().jobs]


def test_the_ack_wakes_a_worker_once_for_a_burst(app, client, signed, run_jobs):
    post(client, {"delivery": "a", "key": "APP-1", "state": "closed", "updated_ms": 1})
    assert _queued(app) == ["hub.jobs.apply_inbound_job"]
    for n in range(5):  # a wake is pending: the job that will run applies these too
        post(client, {"delivery": f"b{n}", "key": "APP-1", "state": "open", "updated_ms": 2 + n})
    assert _queued(app) == ["hub.jobs.apply_inbound_job"]
    run_jobs()
    assert [c.state for c in changes()] == ["applied", "applied", "skipped", "skipped", "skipped", "skipped"]
