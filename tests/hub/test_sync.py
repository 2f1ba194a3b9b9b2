"""What a typed inbound change does (hub/sync.py): an older event never wins (even at once, per field), an
unassign removes only whom it names, unknown emails are skipped, moved tickets keep their links, comments
become notes, and each org linked to the ticket follows its own settings."""

from __future__ import annotations

import json
from typing import Any

import requests
from sqlalchemy import select

from hub import models as m
from hub import services, snapshots
from hub.extensions import db
from tests.hub.conftest import TRACKER, tracker_webhook
from tests.support.inbound import SECRET, SYNC, changes, count, group, post
from tests.support.live import at_once, gunicorn


def _assignee(group_id: int) -> str | None:
    db.session.expire_all()
    row = db.session.scalar(select(m.GroupAssignee).where(m.GroupAssignee.group_id == group_id))
    return row.user.email if row else None


def test_an_older_event_never_wins_even_when_both_arrive_at_once(
        app, env, factories, hub_database_url, hub_redis_url, tmp_path):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    group_id = group.id
    db.session.commit()
    db.session.remove()
    headers = {"X-Tracker-Site": "site-1", "X-Tracker-Token": "whk", "Content-Type": "application/json"}
    with gunicorn(hub_database_url, hub_redis_url, str(tmp_path / "live")) as url:
        for round_ in range(3):
            newest = 10_000 * (round_ + 1)
            bodies = iter([json.dumps({"key": "TR-1", "timestamp": newest if i == 7 else newest - 100 + i,
                                       "assignee": "dev@example.com" if i == 7 else "owner@example.com"})
                           for i in range(16)])
            responses = at_once(16, lambda bodies=bodies: requests.post(
                f"{url}/extensions/tracker/hook/", data=next(bodies), headers=headers, timeout=60))
            assert {r.status_code for r in responses} == {200}
            assert _assignee(group_id) == "dev@example.com", f"round {round_}"
            older = json.dumps({"key": "TR-1", "assignee": "owner@example.com", "timestamp": newest - 1})
            r = requests.post(f"{url}/extensions/tracker/hook/", data=older, headers=headers, timeout=30)
            assert r.ok
            assert _assignee(group_id) == "dev@example.com"
            r = requests.put(f"{url}/api/0/organizations/acme/issues/{group_id}/", json={"assignedTo": None},
                             headers=env["headers"], timeout=30)
            assert r.ok


def _unassign_inbound(env: dict[str, Any], email: str | None) -> list[Any]:
    oi = db.session.scalar(select(m.OrganizationIntegration).where(
        m.OrganizationIntegration.integration_id == env["tracker"].id))
    integration = snapshots.integration(oi.integration, oi)
    return services.hook().sync_assignee_inbound(
        integration=integration, email=email, external_issue_key="TR-1", assign=False, data=None)


def test_an_unassign_naming_someone_else_keeps_the_assignee(client, env, factories):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    assert tracker_webhook(client, {"key": "TR-1", "assignee": "dev@example.com"}).status_code == 200

    assert _unassign_inbound(env, "owner@example.com") == []
    assert _assignee(group.id) == "dev@example.com"
    assert _unassign_inbound(env, "nobody@example.com") == []
    assert _assignee(group.id) == "dev@example.com"

    assert len(_unassign_inbound(env, "DEV@example.com")) == 1
    assert _assignee(group.id) is None


def test_an_unassign_naming_nobody_removes_only_whom_the_ticket_last_synced(client, env, factories):
    oi = db.session.scalar(select(m.OrganizationIntegration).where(
        m.OrganizationIntegration.integration_id == env["tracker"].id))
    oi.config = {**oi.config, "sync_assignee_outbound": False}
    db.session.commit()
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    issue = f"/api/0/organizations/acme/issues/{group.id}/"
    assert tracker_webhook(client, {"key": "TR-1", "assignee": "dev@example.com"}).status_code == 200
    # a hub user reassigns, and nothing tells the ticket: its late "unassigned" is about dev, not owner
    r = client.put(issue, json={"assignedTo": "owner@example.com"}, headers=env["headers"])
    assert r.status_code == 200

    assert tracker_webhook(client, {"key": "TR-1", "assignee": None}).status_code == 200
    assert _assignee(group.id) == "owner@example.com"

    assert tracker_webhook(client, {"key": "TR-1", "assignee": "dev@example.com", "n": 2}).status_code == 200
    assert tracker_webhook(client, {"key": "TR-1", "assignee": None, "n": 2}).status_code == 200
    assert _assignee(group.id) is None


def test_an_unassign_naming_nobody_removes_whom_the_hub_synced_out(client, env, factories, run_jobs,
                                                                   requests_mock):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    issue = f"/api/0/organizations/acme/issues/{group.id}/"
    requests_mock.put(f"{TRACKER}/issues/TR-1/assignee", json={})
    r = client.put(issue, json={"assignedTo": "dev@example.com"}, headers=env["headers"])
    assert r.status_code == 200
    run_jobs()
    assert requests_mock.last_request.json() == {"email": "dev@example.com"}

    assert tracker_webhook(client, {"key": "TR-1", "assignee": None}).status_code == 200
    assert _assignee(group.id) is None


def test_an_unassign_naming_nobody_before_the_ticket_heard_of_the_hubs_assignee_keeps_it(
        client, env, factories, requests_mock):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    issue = f"/api/0/organizations/acme/issues/{group.id}/"
    r = client.put(issue, json={"assignedTo": "dev@example.com"}, headers=env["headers"])
    assert r.status_code == 200  # the job that tells the ticket has not run

    assert tracker_webhook(client, {"key": "TR-1", "assignee": None}).status_code == 200
    assert _assignee(group.id) == "dev@example.com"
    assert requests_mock.call_count == 0


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


def test_an_unassign_naming_nobody_removes_only_the_user_synced_from_the_ticket(client, signed, run_jobs,
                                                                                 factories):
    post(client, {"delivery": "a", "key": "APP-1", "assignee": "dev@example.com", "updated_ms": 1})
    run_jobs()
    assert group(signed["group_id"]).assignee.user.email == "dev@example.com"
    oi = db.session.scalars(select(m.OrganizationIntegration).where(
        m.OrganizationIntegration.integration_id == signed["signed"].id)).one()
    oi.config = {**SYNC, "sync_assignee_outbound": False}  # the ticket is not told: it still says dev
    db.session.commit()
    client.put(
        f"/api/0/organizations/acme/issues/{signed['group_id']}/",
        json={"assignedTo": "owner@example.com"},
        headers=signed["headers"],
    )
    post(client, {"delivery": "b", "key": "APP-1", "assignee": None, "updated_ms": 2})
    run_jobs()
    assert group(signed["group_id"]).assignee.user.email == "owner@example.com"
    assert changes()[-1].state == "skipped"


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


def _ticket_key() -> str | None:
    db.session.expire_all()
    return db.session.scalar(select(m.ExternalIssue.key))


def test_a_late_event_from_before_a_move_applies_and_does_not_rename_the_ticket_back(
        client, signed, run_jobs):
    post(client, {"delivery": "a", "key": "APP-1", "id": "10001", "state": "open", "updated_ms": 1})
    run_jobs()
    post(client, {"delivery": "b", "key": "PLAT-45", "id": "10001", "moved_from": "APP-1", "updated_ms": 5})
    run_jobs()
    assert _ticket_key() == "PLAT-45"
    # sent before the move, delivered after it: still about this ticket, under its old key
    post(client, {"delivery": "c", "key": "APP-1", "id": "10001", "state": "closed", "updated_ms": 3})
    run_jobs()
    assert _ticket_key() == "PLAT-45"
    assert group(signed["group_id"]).status == "resolved"
    assert changes()[-1].state == "applied"


def test_a_late_move_older_than_the_last_one_is_stale(client, signed, run_jobs):
    post(client, {"delivery": "a", "key": "APP-1", "id": "10001", "state": "open", "updated_ms": 1})
    run_jobs()
    post(client, {"delivery": "c", "key": "OPS-9", "id": "10001", "moved_from": "PLAT-45", "updated_ms": 9})
    run_jobs()
    assert _ticket_key() == "OPS-9"
    post(client, {"delivery": "b", "key": "PLAT-45", "id": "10001", "moved_from": "APP-1", "updated_ms": 5})
    run_jobs()
    assert _ticket_key() == "OPS-9"
    assert (changes()[-1].state, changes()[-1].reason) == ("stale", "a newer move was applied")
    # a newer move still renames it
    post(client, {"delivery": "d", "key": "APP-1", "id": "10001", "moved_from": "OPS-9", "updated_ms": 12})
    run_jobs()
    assert _ticket_key() == "APP-1"


def test_a_comment_becomes_a_note_by_its_author(client, signed, run_jobs):
    post(client, {"delivery": "a", "key": "APP-1", "comment": "Fixed in 1.2", "author": "dev@example.com"})
    run_jobs()
    note = db.session.scalars(select(m.Activity).where(m.Activity.type == "note")).one()
    assert note.data["text"] == "Fixed in 1.2" and note.user.email == "dev@example.com"
    assert count(m.OutboxEntry, m.OutboxEntry.kind == "sync_comment_outbound") == 0


def test_one_ticket_linked_from_two_orgs_follows_each_orgs_settings(client, signed, run_jobs, factories):
    other = factories.setup("globex")
    row = db.session.get(m.Integration, signed["signed"].id)
    factories.integration(
        other["org"], "signed", "site-a", {"secret": SECRET}, config={}
    )  # attaches, sync off
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


def test_a_chunk_of_changes_reads_the_orgs_settings_once_and_a_new_setting_applies_to_the_next(
        app, client, signed, run_jobs, factories):
    from sqlalchemy import event as sa_event

    groups = [signed["group_id"]]
    for n in range(2, 6):
        other = factories.group(signed["project"], message=f"Error {n}")
        factories.link(other, signed["signed"], f"APP-{n}")
        groups.append(other.id)
    db.session.commit()
    for n in range(1, 6):
        post(client, {"delivery": f"close-{n}", "key": f"APP-{n}", "state": "closed", "updated_ms": 10})
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        statements.append(sql)

    sa_event.listen(db.engine, "before_cursor_execute", seen)
    try:
        run_jobs()
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", seen)
    assert [group(g).status for g in groups] == ["resolved"] * 5
    assert [c.state for c in changes()] == ["applied"] * 5
    assert len([s for s in statements if "FROM organization_integrations" in s]) == 1  # the chunk's one read
    assert len([s for s in statements if "FROM integration_external_projects" in s]) == 1
    settled = [s for s in statements if s.startswith("UPDATE inbound_changes SET state=") and "reason=" in s]
    assert len(settled) == 1  # the chunk's outcomes in one driver call

    r = client.put(f"/api/0/organizations/acme/integrations/{signed['signed'].id}/",
                   json={"config": {**SYNC, "sync_status_reverse": False}}, headers=signed["headers"])
    assert r.status_code == 200
    post(client, {"delivery": "open-1", "key": "APP-1", "state": "open", "updated_ms": 20})
    run_jobs()
    assert changes()[-1].state == "skipped" and changes()[-1].reason == "status sync off"
    assert group(groups[0]).status == "resolved"
