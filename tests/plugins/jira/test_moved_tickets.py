"""A Jira ticket moved to another project (APP-123 → PLATFORM-45, same issue id) keeps its links.

The move is recorded as a ``moved`` change (Jira's ``Key`` changelog item) and applied by the worker."""

from __future__ import annotations

import copy

from sqlalchemy import update

from hub import models as m
from hub.extensions import db
from tests.plugins.jira.conftest import (
    SITE,
    assert_accepted,
    link,
    new_issue,
    payload,
    recorded_changes,
    send_webhook,
)
from tests.plugins.jira.test_webhooks import STATUSES


def moved(old: str = "APP-123", new: str = "PLATFORM-45", timestamp: int = 1763633900000) -> dict:
    body = copy.deepcopy(payload("issue_updated_status_done"))
    body["timestamp"] = timestamp
    body["issue"]["key"] = new
    body["issue"]["fields"]["project"] = {"id": "10200", "key": new.split("-")[0]}
    body["changelog"]["items"] = [
        {"field": "Key", "fieldtype": "jira", "from": None, "fromString": old, "to": None, "toString": new},
        {"field": "project", "fieldtype": "jira", "fieldId": "project", "from": "10100", "fromString": "APP",
         "to": "10200", "toString": "PLATFORM"},
    ]
    return body


def done(key: str, timestamp: int = 1763633910000) -> dict:
    body = copy.deepcopy(payload("issue_updated_status_done"))
    body["timestamp"] = timestamp
    body["issue"]["key"] = key
    return body


def _issue(client, env, gid):
    return client.get(f"/api/0/organizations/acme/issues/{gid}/", headers=env["headers"]).json


def test_a_move_rekeys_the_link_and_later_changes_apply(client, env, requests_mock, run_jobs):
    gid = new_issue(client, env["headers"])
    link(client, env["headers"], gid, env["jira"].id, requests_mock)
    requests_mock.get(f"{SITE}/rest/api/3/status", json=STATUSES)

    assert_accepted(send_webhook(client, moved()))
    assert _issue(client, env, gid)["externalIssues"][0]["key"] == "APP-123"  # recorded, not applied yet
    run_jobs()
    ticket = _issue(client, env, gid)["externalIssues"][0]
    assert ticket["key"] == "PLATFORM-45" and ticket["url"] == f"{SITE}/browse/PLATFORM-45"

    assert_accepted(send_webhook(client, done("PLATFORM-45")))
    run_jobs()
    assert _issue(client, env, gid)["status"] == "resolved"
    move, status = recorded_changes(client)
    assert (move["kind"], move["state"], move["data"]["old_key"]) == ("moved", "applied", "APP-123")
    assert move["ticket"] == {"key": "PLATFORM-45", "id": "10042"} and move["data"]["project_id"] == "10200"
    assert (status["kind"], status["state"], status["ticket"]["key"]) == ("status", "applied", "PLATFORM-45")


def test_a_change_under_the_new_key_applies_even_when_the_move_was_missed(client, env, requests_mock,
                                                                          run_jobs):
    gid = new_issue(client, env["headers"])
    link(client, env["headers"], gid, env["jira"].id, requests_mock)
    requests_mock.get(f"{SITE}/rest/api/3/status", json=STATUSES)

    assert_accepted(send_webhook(client, done("PLATFORM-45")))
    run_jobs()

    issue = _issue(client, env, gid)
    assert issue["status"] == "resolved" and issue["externalIssues"][0]["key"] == "PLATFORM-45"


def test_a_link_made_before_ids_were_stored_follows_the_move_by_its_old_key(client, env, requests_mock,
                                                                            run_jobs):
    gid = new_issue(client, env["headers"])
    link(client, env["headers"], gid, env["jira"].id, requests_mock)
    db.session.execute(update(m.ExternalIssue).values(external_id=None))
    db.session.commit()
    requests_mock.get(f"{SITE}/rest/api/3/status", json=STATUSES)

    assert_accepted(send_webhook(client, moved()))
    run_jobs()
    assert_accepted(send_webhook(client, done("PLATFORM-45")))
    run_jobs()
    issue = _issue(client, env, gid)
    assert issue["externalIssues"][0]["key"] == "PLATFORM-45" and issue["status"] == "resolved"
    assert [c["state"] for c in recorded_changes(client)] == ["applied", "applied"]


def test_another_ticket_with_the_old_key_is_not_touched(client, env, requests_mock, run_jobs):
    gid = new_issue(client, env["headers"])
    link(client, env["headers"], gid, env["jira"].id, requests_mock)
    requests_mock.get(f"{SITE}/rest/api/3/status", json=STATUSES)
    other = moved()
    other["issue"]["id"] = "99999"  # a different issue that once had this key

    assert_accepted(send_webhook(client, other))
    run_jobs()
    assert _issue(client, env, gid)["externalIssues"][0]["key"] == "APP-123"
    assert recorded_changes(client)[0]["state"] == "skipped"
