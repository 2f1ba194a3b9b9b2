"""Two-way sync through a pip-installed third-party plugin: outbound jobs, inbound hooks, echo rules."""

from __future__ import annotations

import json

from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from hub import models as m
from hub.extensions import db
from tests.hub.conftest import TRACKER, post_event, tracker_webhook


def _link(client, env, gid, key="TR-1"):
    return client.post(f"/api/0/organizations/acme/issues/{gid}/external-issues/",
                       json={"integrationId": str(env["tracker"].id), "action": "link", "externalIssue": key},
                       headers=env["headers"])


def test_link_then_resolve_syncs_status_in_a_worker(client, env, run_jobs, requests_mock):
    h = env["headers"]
    gid = post_event(client, h)["groupId"]
    requests_mock.get(f"{TRACKER}/issues/TR-1", json={"key": "TR-1", "title": "Crash", "url": "https://t/TR-1",
                                                       "state": "open"})
    r = _link(client, env, gid)
    assert r.status_code == 201 and r.json["key"] == "TR-1" and r.json["title"] == "Crash"
    assert _link(client, env, gid).json["detail"] == "That issue is already linked"
    requests_mock.put(f"{TRACKER}/issues/TR-1/state", json={})
    client.put(f"/api/0/organizations/acme/issues/{gid}/", json={"status": "resolved"}, headers=h)
    assert run_jobs() == 1
    put = [r for r in requests_mock.request_history if r.method == "PUT"]
    assert [(r.url, r.json()) for r in put] == [(f"{TRACKER}/issues/TR-1/state", {"state": "closed"})]
    assert put[0].headers["Authorization"] == "Token tracker-api-token"
    issue = client.get(f"/api/0/organizations/acme/issues/{gid}/", headers=h).json
    assert issue["externalIssues"][0]["key"] == "TR-1" and issue["externalIssues"][0]["provider"] == "tracker"
    activity = client.get(f"/api/0/organizations/acme/issues/{gid}/activities/", headers=h).json
    create = next(a for a in activity if a["type"] == "create_issue")
    assert create["data"]["new"] is False and create["data"]["key"] == "TR-1"


def test_link_unknown_key_stores_nothing(client, env, requests_mock):
    gid = post_event(client, env["headers"])["groupId"]
    requests_mock.get(f"{TRACKER}/issues/NOPE-1", status_code=404, json={"message": "Issue does not exist"})
    r = _link(client, env, gid, "NOPE-1")
    assert r.status_code == 400 and "404" in r.json["detail"]
    assert "Issue does not exist" not in str(r.json)  # the provider's words are logged, never answered
    assert db.session.scalar(select(func.count()).select_from(m.ExternalIssue)) == 0


def test_create_requires_fields(client, env, requests_mock):
    gid = post_event(client, env["headers"])["groupId"]
    url = f"/api/0/organizations/acme/issues/{gid}/external-issues/"
    r = client.post(url, json={"integrationId": str(env["tracker"].id), "action": "create", "fields": {}},
                    headers=env["headers"])
    assert r.status_code == 400 and "queue" in r.json["errors"]
    requests_mock.post(f"{TRACKER}/issues", json={"key": "TR-9", "title": "t", "url": "https://t/TR-9"})
    r = client.post(url, json={"integrationId": str(env["tracker"].id), "action": "create",
                               "fields": {"queue": "OPS"}}, headers=env["headers"])
    assert r.status_code == 201 and r.json["key"] == "TR-9"
    assert requests_mock.last_request.json()["link"] == f"http://hub.test/organizations/acme/issues/{gid}/"


def test_status_sync_respects_config(client, env, factories, run_jobs, requests_mock):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    oi = db.session.scalar(select(m.OrganizationIntegration))
    oi.config = {**oi.config, "sync_status_forward": False}
    db.session.commit()
    client.put(
        f"/api/0/organizations/acme/issues/{group.id}/", json={"status": "resolved"}, headers=env["headers"]
    )
    assert run_jobs() == 0 and requests_mock.call_count == 0


def test_inbound_status_resolves_and_is_not_echoed(client, env, factories, run_jobs, requests_mock):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    r = tracker_webhook(client, {"key": "TR-1", "status": "closed", "category": "done", "timestamp": 1000})
    assert r.status_code == 200 and r.json["changed"] == [str(group.id)]
    issue = client.get(f"/api/0/organizations/acme/issues/{group.id}/", headers=env["headers"]).json
    assert issue["status"] == "resolved"
    [activity] = [a for a in client.get(f"/api/0/organizations/acme/issues/{group.id}/activities/",
                                        headers=env["headers"]).json if a["type"] == "set_resolved"]
    assert activity["user"] is None and activity["data"]["provider"] == "tracker"
    assert run_jobs() == 0 and requests_mock.call_count == 0  # never echoed back
    again = tracker_webhook(
        client, {"key": "TR-1", "status": "closed", "category": "done", "timestamp": 1000}
    )
    assert again.json.get("duplicate") is True
    older = tracker_webhook(
        client,
        {"key": "TR-1", "status": "open", "category": "new", "from_category": "done", "timestamp": 500},
    )
    assert older.json["changed"] == []  # an older event than the last applied is dropped
    newer = tracker_webhook(
        client,
        {"key": "TR-1", "status": "open", "category": "new", "from_category": "done", "timestamp": 2000},
    )
    assert newer.json["changed"] == [str(group.id)]


def test_inbound_status_uses_the_explicit_mapping_first(client, env, factories):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    factories.mapping(env["org"], env["tracker"], "", "shipped", "reopened")
    r = tracker_webhook(client, {"key": "TR-1", "status": "closed", "category": "done"})
    assert r.json["changed"] == []  # mapped project: "closed" is neither mapped status
    r = tracker_webhook(client, {"key": "TR-1", "status": "shipped", "category": "new"})
    assert r.json["changed"] == [str(group.id)]


def test_ignored_issue_stays_ignored_on_inbound_resolve(client, env, factories):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    client.put(
        f"/api/0/organizations/acme/issues/{group.id}/", json={"status": "ignored"}, headers=env["headers"]
    )
    tracker_webhook(client, {"key": "TR-1", "status": "closed", "category": "done"})
    assert (
        client.get(f"/api/0/organizations/acme/issues/{group.id}/", headers=env["headers"]).json["status"]
        == "ignored"
    )


def test_inbound_assignee_matches_project_members_only(client, env, factories, run_jobs, requests_mock):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    factories.member(env["org"], "outsider@example.com", projects=[])
    r = tracker_webhook(client, {"key": "TR-1", "assignee": "DEV@example.com"})
    assert r.json["changed"] == [str(group.id)]
    issue = client.get(f"/api/0/organizations/acme/issues/{group.id}/", headers=env["headers"]).json
    assert issue["assignedTo"]["email"] == "dev@example.com"
    for email in ("outsider@example.com", "nobody@example.com"):
        assert tracker_webhook(client, {"key": "TR-1", "assignee": email}).json["changed"] == []
    issue = client.get(f"/api/0/organizations/acme/issues/{group.id}/", headers=env["headers"]).json
    assert issue["assignedTo"]["email"] == "dev@example.com"  # never unassigned for an unknown email
    assert tracker_webhook(client, {"key": "TR-1", "assignee": None}).json["changed"] == [str(group.id)]
    assert run_jobs() == 0 and requests_mock.call_count == 0  # the origin gets no outbound assignee sync


def test_assignee_change_syncs_to_other_integrations_not_the_origin(
    client, env, factories, run_jobs, requests_mock
):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    second = factories.integration(env["org"], "tracker", "site-2", {"base_url": "https://t2.example.com"},
                                   config={"sync_assignee_outbound": True})
    factories.link(group, second, "T2-1")
    requests_mock.put("https://t2.example.com/issues/T2-1/assignee", json={})
    tracker_webhook(client, {"key": "TR-1", "assignee": "dev@example.com"})
    assert run_jobs() == 1
    assert [(r.url, r.json()) for r in requests_mock.request_history] == [
        ("https://t2.example.com/issues/T2-1/assignee", {"email": "dev@example.com"})]


def test_inbound_sync_uses_constant_queries(client, env, factories):
    def count_queries(n_groups: int) -> int:
        db.session.execute(m.GroupLink.__table__.delete())
        db.session.execute(m.ExternalIssue.__table__.delete())
        db.session.commit()
        groups = [factories.group(env["project"], message=f"e{n_groups}-{i}") for i in range(n_groups)]
        for g in groups:
            factories.link(g, env["tracker"], f"K-{n_groups}") if g is groups[0] else None
        ext = db.session.scalar(select(m.ExternalIssue).where(m.ExternalIssue.key == f"K-{n_groups}"))
        for g in groups[1:]:
            db.session.add(m.GroupLink(group_id=g.id, external_issue_id=ext.id))
        db.session.commit()
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        sa_event.listen(db.engine, "before_cursor_execute", listener)
        try:
            r = tracker_webhook(client, {"key": f"K-{n_groups}", "status": "closed", "category": "done"})
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", listener)
        assert len(r.json["changed"]) == n_groups
        return len(statements)

    assert count_queries(2) == count_queries(12)


def test_redelivered_webhook_has_no_second_effect_and_is_logged(client, env, factories):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    body = {"key": "TR-1", "status": "closed", "category": "done"}
    tracker_webhook(client, body)
    client.put(
        f"/api/0/organizations/acme/issues/{group.id}/", json={"status": "unresolved"}, headers=env["headers"]
    )
    tracker_webhook(client, body)
    assert (
        client.get(f"/api/0/organizations/acme/issues/{group.id}/", headers=env["headers"]).json["status"]
        == "unresolved"
    )
    outcomes = db.session.scalars(select(m.WebhookDelivery.outcome).order_by(m.WebhookDelivery.id)).all()
    assert outcomes == ["processed", "duplicate"]
    stored = db.session.scalars(select(m.WebhookDelivery)).first()
    assert stored.headers["X-Tracker-Token"] == "[redacted]"  # a plugin's own token header is a secret too
    assert stored.headers["X-Tracker-Site"] == "site-1"
    assert json.loads(stored.body) == body
