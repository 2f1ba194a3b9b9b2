"""Jira Server/DC: a moved ticket (APP-1 → PLATFORM-45, same issue id) keeps its links."""

from __future__ import annotations

from tests.plugins.jira.conftest import assert_accepted, recorded_changes
from tests.plugins.jira_server.payloads import ASSIGNEE_EMAIL, issue_assigned
from tests.plugins.jira_server.test_webhooks import issue, linked, post  # noqa: F401  (the fixture)


def test_a_move_rekeys_the_link_and_later_changes_apply(client, linked, run_jobs):  # noqa: F811
    move = issue_assigned()
    move["timestamp"] -= 1000
    move["issue"]["key"] = "PLATFORM-45"
    move["changelog"]["items"] = [
        {"field": "Key", "fieldtype": "jira", "from": None, "fromString": "APP-1", "to": None,
         "toString": "PLATFORM-45"},
        {"field": "project", "fieldtype": "jira", "from": "10000", "fromString": "APP", "to": "10001",
         "toString": "PLATFORM"},
    ]
    assert_accepted(post(client, linked["webhook_path"], move))
    run_jobs()
    assert issue(client, linked, linked["group_id"])["externalIssues"][0]["key"] == "PLATFORM-45"

    assign = issue_assigned()
    assign["issue"]["key"] = "PLATFORM-45"
    assert_accepted(post(client, linked["webhook_path"], assign))
    run_jobs()
    assert issue(client, linked, linked["group_id"])["assignedTo"]["email"] == ASSIGNEE_EMAIL
    moved, assigned = recorded_changes(client)
    assert (moved["kind"], moved["state"], moved["data"]["old_key"]) == ("moved", "applied", "APP-1")
    assert moved["ticket"] == {"key": "PLATFORM-45", "id": "10200"}
    assert (assigned["kind"], assigned["state"]) == ("assignee", "applied")
