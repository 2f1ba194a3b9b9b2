"""Inbound v2 through a plugin written from the docs (tests/support/signed_tracker.py): routes,
verify before parse, claim + record + ack, the worker applying in order, echoes, the delivery log."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from hub import models as m
from hub.extensions import db
from tests.support import signed_tracker
from tests.support.signed_tracker import BASE, deliver

SECRET = "s3cret-signing-key"
SYNC = {"sync_status_forward": True, "sync_status_reverse": True, "sync_assignee_outbound": True,
        "sync_assignee_inbound": True, "sync_comments": True}


@pytest.fixture
def signed(app: Any, env: dict[str, Any], factories: Any, register_plugin: Any) -> dict[str, Any]:
    register_plugin(signed_tracker)
    integration = factories.integration(env["org"], "signed", "site-a", {"secret": SECRET}, config=SYNC)
    group = factories.group(env["project"])
    factories.link(group, integration, "APP-1")
    db.session.commit()
    return {**env, "signed": integration, "group_id": group.id}


def post(client: Any, payload: dict[str, Any], site: str = "site-a", secret: str = SECRET) -> Any:
    return deliver(client.post, site, secret, payload)


def group(group_id: int) -> m.Group:
    db.session.expire_all()
    row = db.session.get(m.Group, group_id)
    assert row is not None
    return row


def changes() -> list[m.InboundChange]:
    db.session.expire_all()
    return list(db.session.scalars(select(m.InboundChange).order_by(m.InboundChange.id)))


def count(model: Any, *where: Any) -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# -- routing, limits, verification ------------------------------------------------------------


def test_routes_answer_404_and_405_with_allow(client, signed):
    r = client.post("/extensions/signed/nowhere/")
    assert r.status_code == 404 and r.json["detail"] == "Not found."
    r = client.get("/extensions/signed/hooks/site-a/")
    assert r.status_code == 405 and r.headers["Allow"] == "POST" and r.json["detail"] == "Method not allowed."
    r = client.delete("/extensions/signed/ping/")
    assert r.status_code == 405 and set(r.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert client.get("/extensions/signed/ping/").json == {"ok": True}


def test_a_body_over_the_routes_limit_is_413_and_nothing_is_recorded(client, signed):
    r = post(client, {"delivery": "d1", "key": "APP-1", "pad": "x" * 70_000})
    assert r.status_code == 413 and r.json["detail"] == "Request body too large (limit 64 KiB)."
    assert count(m.WebhookDelivery) == 0 and count(m.InboundChange) == 0


def test_the_verifier_runs_before_the_body_is_parsed(client, signed):
    r = client.post("/extensions/signed/hooks/site-a/", data=b"\xff not json {", headers={"X-Signature": "bad"})
    assert r.status_code == 401
    assert r.json == {"detail": "Bad signature.", "errors": {"X-Signature": ["Does not match the body."]}}
    r = post(client, {"delivery": "d1", "key": "APP-1", "state": "closed"}, site="site-unknown")
    assert r.status_code == 401
    delivery = db.session.scalars(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id)).first()
    assert delivery.outcome == "rejected" and delivery.status_code == 401
    assert count(m.InboundChange) == 0 and group(signed["group_id"]).status == "unresolved"


def test_a_handler_raising_is_a_recorded_500_and_other_deliveries_go_on(client, signed, run_jobs):
    r = post(client, {"delivery": "d1", "key": "APP-1", "boom": True})
    assert r.status_code == 500 and r.json["detail"].startswith("Internal error (")
    assert "broke" not in r.get_data(as_text=True)
    failed = db.session.scalars(select(m.WebhookDelivery)).one()
    assert failed.outcome == "error" and "RuntimeError: the handler broke" in failed.error
    r = post(client, {"delivery": "d1", "key": "APP-1", "state": "closed", "updated_ms": 1})
    assert r.status_code == 200  # the failed delivery did not keep its key
    run_jobs()
    assert group(signed["group_id"]).status == "resolved"


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


def test_a_redelivery_is_200_and_has_no_second_effect(client, signed, run_jobs):
    payload = {"delivery": "d1", "key": "APP-1", "state": "closed", "updated_ms": 1000}
    assert post(client, payload).status_code == 200
    run_jobs()
    client.put(f"/api/0/organizations/acme/issues/{signed['group_id']}/", json={"status": "unresolved"},
               headers=signed["headers"])
    r = post(client, payload)
    assert r.status_code == 200 and r.json["detail"] == "Already processed."
    run_jobs()
    assert group(signed["group_id"]).status == "unresolved"
    assert len(changes()) == 1
    outcomes = [d.outcome for d in db.session.scalars(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id))]
    assert outcomes == ["received", "duplicate"]


def test_pending_changes_are_applied_in_event_order_not_arrival(client, signed, run_jobs):
    post(client, {"delivery": "new", "key": "APP-1", "state": "closed", "updated_ms": 2000})
    post(client, {"delivery": "old", "key": "APP-1", "state": "open", "updated_ms": 1000})
    run_jobs()
    assert group(signed["group_id"]).status == "resolved"
    # the older ran first (the issue was open already), then the newer resolved it
    assert [(c.data["status_id"], c.state) for c in changes()] == [("closed", "applied"), ("open", "skipped")]
    assert changes()[1].date_applied <= changes()[0].date_applied


def test_older_event_arriving_after_the_newer_was_applied_is_stale(client, signed, run_jobs):
    post(client, {"delivery": "new", "key": "APP-1", "state": "closed", "updated_ms": 2000})
    run_jobs()
    post(client, {"delivery": "old", "key": "APP-1", "state": "open", "updated_ms": 1000})
    run_jobs()
    assert group(signed["group_id"]).status == "resolved"
    assert changes()[-1].state == "stale"


def test_status_and_assignee_have_their_own_versions(client, signed, run_jobs):
    post(client, {"delivery": "a", "key": "APP-1", "state": "closed", "updated_ms": 2000})
    post(client, {"delivery": "b", "key": "APP-1", "assignee": "dev@example.com", "updated_ms": 1000})
    run_jobs()
    row = group(signed["group_id"])
    assert row.status == "resolved" and row.assignee.user.email == "dev@example.com"


def test_without_event_times_arrival_order_decides(client, signed, run_jobs):
    post(client, {"delivery": "a", "key": "APP-1", "state": "closed"})
    post(client, {"delivery": "b", "key": "APP-1", "state": "open"})
    run_jobs()
    assert group(signed["group_id"]).status == "unresolved"
    assert [c.state for c in changes()] == ["applied", "applied"]


def test_a_late_echo_ends_in_the_state_the_user_last_set(client, signed, run_jobs, requests_mock):
    requests_mock.put(f"{BASE}/tickets/APP-1/state", json={})
    url = f"/api/0/organizations/acme/issues/{signed['group_id']}/"
    assert client.put(url, json={"status": "resolved"}, headers=signed["headers"]).status_code == 200
    assert client.put(url, json={"status": "unresolved"}, headers=signed["headers"]).status_code == 200
    run_jobs()
    assert [r.json() for r in requests_mock.request_history] == [{"closed": True}, {"closed": False}]
    # the tracker's webhooks for those two changes arrive late, in order
    post(client, {"delivery": "echo-1", "key": "APP-1", "state": "closed", "updated_ms": 5000})
    run_jobs()
    assert group(signed["group_id"]).status == "unresolved"
    post(client, {"delivery": "echo-2", "key": "APP-1", "state": "open", "updated_ms": 6000})
    run_jobs()
    assert group(signed["group_id"]).status == "unresolved"
    assert [(c.state, c.reason) for c in changes()] == [("echo", "the hub's own change coming back")] * 2
    # a real change afterwards applies
    post(client, {"delivery": "real", "key": "APP-1", "state": "closed", "updated_ms": 7000})
    run_jobs()
    assert group(signed["group_id"]).status == "resolved"


def test_an_unassign_naming_nobody_removes_only_the_user_synced_from_the_ticket(client, signed, run_jobs,
                                                                                 factories):
    post(client, {"delivery": "a", "key": "APP-1", "assignee": "dev@example.com", "updated_ms": 1})
    run_jobs()
    assert group(signed["group_id"]).assignee.user.email == "dev@example.com"
    oi = db.session.scalars(select(m.OrganizationIntegration).where(
        m.OrganizationIntegration.integration_id == signed["signed"].id)).one()
    oi.config = {**SYNC, "sync_assignee_outbound": False}  # the ticket is not told: it still says dev
    db.session.commit()
    client.put(f"/api/0/organizations/acme/issues/{signed['group_id']}/", json={"assignedTo": "owner@example.com"},
               headers=signed["headers"])
    post(client, {"delivery": "b", "key": "APP-1", "assignee": None, "updated_ms": 2})
    run_jobs()
    assert group(signed["group_id"]).assignee.user.email == "owner@example.com"
    assert changes()[-1].state == "skipped"


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


def test_an_unknown_email_is_skipped_with_the_reason(client, signed, run_jobs):
    post(client, {"delivery": "a", "key": "APP-1", "assignee": "stranger@example.com", "updated_ms": 1})
    run_jobs()
    assert (changes()[0].state, changes()[0].reason) == ("skipped", "identity unknown")
    assert group(signed["group_id"]).assignee is None


def test_a_moved_ticket_keeps_its_links(client, signed, run_jobs):
    post(client, {"delivery": "a", "key": "APP-1", "id": "10001", "state": "open", "updated_ms": 1})
    run_jobs()
    post(client, {"delivery": "b", "key": "PLAT-45", "id": "10001", "moved_from": "APP-1", "updated_ms": 2})
    run_jobs()
    db.session.expire_all()
    assert db.session.scalar(select(m.ExternalIssue.key)) == "PLAT-45"
    post(client, {"delivery": "c", "key": "PLAT-45", "id": "10001", "state": "closed", "updated_ms": 3})
    run_jobs()
    assert group(signed["group_id"]).status == "resolved"


def test_a_comment_becomes_a_note_by_its_author(client, signed, run_jobs):
    post(client, {"delivery": "a", "key": "APP-1", "comment": "Fixed in 1.2", "author": "dev@example.com"})
    run_jobs()
    note = db.session.scalars(select(m.Activity).where(m.Activity.type == "note")).one()
    assert note.data["text"] == "Fixed in 1.2" and note.user.email == "dev@example.com"
    assert count(m.OutboxEntry, m.OutboxEntry.kind == "sync_comment_outbound") == 0


def test_one_ticket_linked_from_two_orgs_follows_each_orgs_settings(client, signed, run_jobs, factories):
    other = factories.setup("globex")
    row = db.session.get(m.Integration, signed["signed"].id)
    factories.integration(other["org"], "signed", "site-a", {"secret": SECRET}, config={})  # attaches, sync off
    other_group = factories.group(other["project"])
    ext = m.ExternalIssue(organization_id=other["org"].id, integration_id=row.id, key="APP-1")
    db.session.add(ext)
    db.session.flush()
    db.session.add(m.GroupLink(group_id=other_group.id, external_issue_id=ext.id))
    db.session.commit()
    post(client, {"delivery": "a", "key": "APP-1", "state": "closed", "updated_ms": 1})
    run_jobs()
    assert group(signed["group_id"]).status == "resolved"
    assert group(other_group.id).status == "unresolved"


# -- the delivery log and replay --------------------------------------------------------------


def test_hub_deliveries_json_shows_each_change(client, signed, run_jobs):
    post(client, {"delivery": "a", "key": "APP-1", "state": "closed", "updated_ms": 2})
    post(client, {"delivery": "b", "key": "APP-1", "state": "open", "updated_ms": 1})
    post(client, {"delivery": "b", "key": "APP-1", "state": "open", "updated_ms": 1})
    run_jobs()
    out = client.application.test_cli_runner().invoke(args=["deliveries", "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert [r["state"] for r in rows] == ["duplicate", "skipped", "applied"]
    assert rows[1]["changes"][0]["reason"] == "no change"
    applied = rows[2]["changes"][0]
    assert applied["kind"] == "status" and applied["ticket"]["key"] == "APP-1" and applied["activityIds"]
    text = client.application.test_cli_runner().invoke(args=["deliveries"]).output
    assert "skipped" in text and "applied" in text and "activities" in text


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


def test_the_deliveries_api_is_for_owners_and_admins_of_the_org(client, signed, run_jobs, factories):
    post(client, {"delivery": "a", "key": "APP-1", "state": "closed", "updated_ms": 2})
    run_jobs()
    r = client.get("/api/0/organizations/acme/deliveries/?ticket=APP-1", headers=signed["headers"])
    assert r.status_code == 200 and [d["state"] for d in r.json] == ["applied"]
    assert r.json[0]["changes"][0]["state"] == "applied"
    assert client.get("/api/0/organizations/acme/deliveries/?ticket=NOPE-1", headers=signed["headers"]).json == []
    delivery_id = r.json[0]["id"]
    member = {"Authorization": f"Bearer {factories.token(signed['member'])}"}
    assert client.get("/api/0/organizations/acme/deliveries/", headers=member).status_code == 403
    other = factories.setup("globex", email="g@example.com")
    r = client.get(f"/api/0/organizations/globex/deliveries/{delivery_id}/", headers=other["headers"])
    assert r.status_code == 404
    r = client.post(f"/api/0/organizations/acme/deliveries/{delivery_id}/replay/", headers=signed["headers"])
    assert r.status_code == 200 and r.json["changes"][0]["state"] in ("applied", "skipped")
    assert client.get("/api/0/organizations/acme/deliveries/?limit=zero", headers=signed["headers"]).status_code == 400
