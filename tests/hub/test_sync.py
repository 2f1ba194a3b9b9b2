"""Inbound guards: an older event never wins (even at once), an unassign removes only whom it names."""

from __future__ import annotations

import json
from typing import Any

import requests
from sqlalchemy import select

from hub import models as m
from hub import services, snapshots
from hub.extensions import db
from tests.hub.conftest import tracker_webhook
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


def test_an_unassign_naming_nobody_removes_whom_the_hub_synced_out(client, env, factories):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    issue = f"/api/0/organizations/acme/issues/{group.id}/"
    r = client.put(issue, json={"assignedTo": "dev@example.com"}, headers=env["headers"])
    assert r.status_code == 200

    assert tracker_webhook(client, {"key": "TR-1", "assignee": None}).status_code == 200
    assert _assignee(group.id) is None
