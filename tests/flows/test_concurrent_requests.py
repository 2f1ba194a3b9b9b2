"""32 identical requests at once against a real gunicorn (-w 2 --threads 4): 0 5xx, one effect.

Runs on the test database (a SQLite file by default, PostgreSQL with HUB_TEST_DATABASE_URL).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from hub import models as m
from hub.extensions import db
from tests.support.live import at_once, gunicorn

N = 32


@pytest.fixture
def live(app: Any, hub_database_url: str, hub_redis_url: str, tmp_path: Any) -> Any:
    db.session.commit()
    db.session.remove()
    with gunicorn(hub_database_url, hub_redis_url, str(tmp_path / "live-instance")) as url:
        yield url


def _send(method: str, url: str, body: Any, headers: dict[str, str]) -> Any:
    return lambda: requests.request(method, url, json=body, headers=headers, timeout=60)


def _codes(responses: list[requests.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def _count(model: Any, *where: Any) -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _outbox(kind: str) -> int:
    return _count(m.OutboxEntry, m.OutboxEntry.kind == kind)


def _activities(group_id: int, type_: str) -> int:
    return _count(m.Activity, m.Activity.group_id == group_id, m.Activity.type == type_)


@pytest.fixture
def linked_issue(env: dict[str, Any], factories: Any) -> dict[str, Any]:
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    return {**env, "group_id": group.id}


def test_identical_resolve_and_assign_make_one_activity_and_one_job_each(linked_issue, live):
    s = linked_issue
    url = f"{live}/api/0/organizations/acme/issues/{s['group_id']}/"
    body = {"status": "resolved", "assignedTo": "dev@example.com"}

    responses = at_once(N, _send("PUT", url, body, s["headers"]))

    assert _codes(responses) == {200: N}, [r.text for r in responses if r.status_code != 200][:3]
    assert all(r.json()["status"] == "resolved" for r in responses)
    assert all(r.json()["assignedTo"]["email"] == "dev@example.com" for r in responses)
    assert _activities(s["group_id"], "set_resolved") == 1
    assert _activities(s["group_id"], "assigned") == 1
    assert _outbox("sync_status_outbound") == 1
    assert _outbox("sync_assignee_outbound") == 1
    assert _count(m.GroupAssignee, m.GroupAssignee.group_id == s["group_id"]) == 1


def test_identical_unassign_makes_one_activity(linked_issue, live):
    s = linked_issue
    url = f"{live}/api/0/organizations/acme/issues/{s['group_id']}/"
    assert requests.put(url, json={"assignedTo": "dev@example.com"}, headers=s["headers"], timeout=30).ok

    responses = at_once(N, _send("PUT", url, {"assignedTo": None}, s["headers"]))

    assert _codes(responses) == {200: N}
    assert _activities(s["group_id"], "unassigned") == 1
    assert _outbox("sync_assignee_outbound") == 2  # the assign, then one unassign


def test_identical_events_are_stored_and_counted_once(env, live):
    url = f"{live}/api/0/projects/acme/backend/events/"
    event = {"message": "KeyError: 'user'", "event_id": "a" * 32}

    responses = at_once(N, _send("POST", url, event, env["headers"]))

    assert _codes(responses) == {201: N}, [r.text for r in responses if r.status_code != 201][:3]
    assert len({r.json()["groupId"] for r in responses}) == 1
    assert _count(m.Event) == 1
    group_id = int(responses[0].json()["groupId"])
    db.session.expire_all()
    assert db.session.get(m.Group, group_id).times_seen == 1
    assert _activities(group_id, "first_seen") == 1


def test_distinct_events_of_a_new_issue_make_one_issue(env, live):
    url = f"{live}/api/0/projects/acme/backend/events/"

    responses = at_once(N, _send("POST", url, {"message": "Boom"}, env["headers"]))

    assert _codes(responses) == {201: N}, [r.text for r in responses if r.status_code != 201][:3]
    assert sum(r.json()["isNew"] for r in responses) == 1
    assert _count(m.Group) == 1
    group_id = int(responses[0].json()["groupId"])
    db.session.expire_all()
    assert db.session.get(m.Group, group_id).times_seen == N
    assert _activities(group_id, "first_seen") == 1


def test_identical_member_invites_make_one_member(env, live):
    url = f"{live}/api/0/organizations/acme/members/"
    body = {"email": "New@Example.com", "role": "member", "projects": ["backend"]}

    responses = at_once(N, _send("POST", url, body, env["headers"]))

    assert _codes(responses) == {201: 1, 409: N - 1}, [r.text for r in responses if r.status_code >= 500][:3]
    assert _count(m.User, m.User.email == "new@example.com") == 1


@pytest.fixture
def slack_id(env: dict[str, Any], factories: Any) -> int:
    integration = factories.integration(env["org"], "slack", "T07RACE", {"bot_token": "xoxb-x"})
    return int(integration.id)


def test_identical_alert_rules_and_invite_requests_make_one_row_each(env, slack_id, live):
    rule = {"name": "Alerts", "conditions": [{"id": "every_event"}],
            "actions": [{"integrationId": str(slack_id), "channelId": "C07ONCALL"}]}
    responses = at_once(N, _send("POST", f"{live}/api/0/projects/acme/backend/rules/", rule, env["headers"]))
    assert _codes(responses) == {201: 1, 409: N - 1}, [r.text for r in responses if r.status_code >= 500][:3]
    assert _count(m.AlertRule) == 1

    ask = {"email": "Friend@Example.com", "role": "member"}
    url = f"{live}/api/0/organizations/acme/invite-requests/"
    responses = at_once(N, _send("POST", url, ask, env["headers"]))
    assert _codes(responses) == {201: 1, 409: N - 1}, [r.text for r in responses if r.status_code >= 500][:3]
    assert _count(m.InviteRequest, m.InviteRequest.email == "friend@example.com") == 1
    assert _outbox("notify_invite_request") == 1


def test_identical_projects_make_one_project(env, live):
    url = f"{live}/api/0/organizations/acme/projects/"

    responses = at_once(N, _send("POST", url, {"slug": "frontend"}, env["headers"]))

    assert _codes(responses) == {201: 1, 409: N - 1}, [r.text for r in responses if r.status_code >= 500][:3]
    assert _count(m.Project, m.Project.slug == "frontend") == 1
    assert _count(m.ProjectKey) == 2


@pytest.fixture
def tracker_id(env: dict[str, Any]) -> int:
    return int(env["tracker"].id)


def test_identical_installs_and_status_mappings_make_one_row(env, tracker_id, live):
    install = f"{live}/api/0/organizations/acme/integrations/"
    body = {"provider": "tracker", "externalId": "site-2", "metadata": {"base_url": "https://t2.example.com"}}

    responses = at_once(N, _send("POST", install, body, env["headers"]))

    assert set(_codes(responses)) <= {200, 201}, [r.text for r in responses if r.status_code >= 400][:3]
    assert _count(m.Integration, m.Integration.external_id == "site-2") == 1
    assert _count(m.OrganizationIntegration) == 2

    mapping = f"{live}/api/0/organizations/acme/integrations/{tracker_id}/external-projects/"
    body = {"externalId": "10000", "resolvedStatus": "3", "unresolvedStatus": "1"}

    responses = at_once(N, _send("POST", mapping, body, env["headers"]))

    assert _codes(responses) == {201: N}, [r.text for r in responses if r.status_code != 201][:3]
    assert _count(m.IntegrationExternalProject) == 1
