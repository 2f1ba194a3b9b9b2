"""Inbound: Jira's issue-updated webhook drives linked hub issues (FLOWS §4, §5, §9)."""

from __future__ import annotations

from tests.plugins.jira.conftest import SITE, decode_outbound, link, new_issue, payload, send_webhook
from tests.plugins.jira.payloads import ASSIGNED_AT, JESS_ACCOUNT, LATER
from tests.support.specs import assert_valid_requests

STATUSES = [
    {"id": "10000", "name": "To Do", "statusCategory": {"key": "new"}},
    {"id": "3", "name": "In Progress", "statusCategory": {"key": "indeterminate"}},
    {"id": "10001", "name": "Done", "statusCategory": {"key": "done"}},
]


def _issue(client, headers, gid):
    return client.get(f"/api/0/organizations/acme/issues/{gid}/", headers=headers).json


def _activity_types(client, headers, gid):
    return [
        a["type"]
        for a in client.get(f"/api/0/organizations/acme/issues/{gid}/activities/", headers=headers).json
    ]


def _linked(client, env, requests_mock):
    gid = new_issue(client, env["headers"])
    link(client, env["headers"], gid, env["jira"].id, requests_mock)
    return gid


def _check_calls(requests_mock):
    calls = [h for h in requests_mock.request_history if h.url.startswith(SITE)]
    for call in calls:
        decode_outbound(call)
    if calls:
        assert assert_valid_requests("jira-cloud", calls, SITE) == len(calls)
    return calls


def test_status_done_resolves_the_issue_and_is_not_echoed(client, env, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    requests_mock.get(f"{SITE}/rest/api/3/status", json=STATUSES)
    r = send_webhook(client, payload("issue_updated_status_done"))
    assert r.status_code == 200 and r.json["status"] == 1
    issue = _issue(client, env["headers"], gid)
    assert issue["status"] == "resolved"
    activity = client.get(f"/api/0/organizations/acme/issues/{gid}/activities/", headers=env["headers"]).json[
        0
    ]
    assert activity["type"] == "set_resolved" and activity["data"]["provider"] == "jira"
    run_jobs()
    calls = _check_calls(requests_mock)
    # Only the status-category lookup: no transition echoed back to Jira.
    assert [(c.method, c.path) for c in calls] == [("GET", "/rest/api/3/status")]


def test_status_categories_are_cached(client, env, requests_mock):
    _linked(client, env, requests_mock)
    requests_mock.get(f"{SITE}/rest/api/3/status", json=STATUSES)
    send_webhook(client, payload("issue_updated_status_done"))
    send_webhook(client, payload("issue_updated_status_done", timestamp=LATER))
    assert [c.path for c in requests_mock.request_history] == ["/rest/api/3/status"]


def test_status_lookup_failure_falls_back_on_the_payload(client, env, requests_mock):
    gid = _linked(client, env, requests_mock)
    requests_mock.get(f"{SITE}/rest/api/3/status", status_code=503)
    assert send_webhook(client, payload("issue_updated_status_done")).status_code == 200
    assert _issue(client, env["headers"], gid)["status"] == "resolved"  # "to" category done from the issue


def test_moving_between_open_statuses_changes_nothing(client, env, requests_mock):
    gid = _linked(client, env, requests_mock)
    client.put(
        f"/api/0/organizations/acme/issues/{gid}/", json={"status": "resolved"}, headers=env["headers"]
    )
    requests_mock.get(f"{SITE}/rest/api/3/status", json=STATUSES)
    body = payload("issue_updated_status_done")
    body["issue"]["fields"]["status"] = {
        "id": "3",
        "name": "In Progress",
        "statusCategory": {"key": "indeterminate"},
    }
    body["changelog"]["items"][0].update({"from": "10000", "to": "3"})
    assert send_webhook(client, body).status_code == 200
    assert _issue(client, env["headers"], gid)["status"] == "resolved"  # To Do -> In Progress: not a reopen


def test_status_ignored_when_reverse_sync_is_off(client, env, requests_mock):
    gid = _linked(client, env, requests_mock)
    client.put(
        f"/api/0/organizations/acme/integrations/{env['jira'].id}/",
        json={"config": {"sync_status_reverse": False}},
        headers=env["headers"],
    )
    requests_mock.get(f"{SITE}/rest/api/3/status", json=STATUSES)
    assert send_webhook(client, payload("issue_updated_status_done")).status_code == 200
    assert _issue(client, env["headers"], gid)["status"] == "unresolved"


def test_assignee_email_of_a_project_member_assigns(client, env, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    r = send_webhook(client, payload("issue_updated_assignee"))
    assert r.status_code == 200 and r.json["assignee"] == 1
    assert _issue(client, env["headers"], gid)["assignedTo"]["email"] == "jess@example.com"
    run_jobs()
    assert requests_mock.request_history == []  # no Jira call, no echo


def test_assignee_who_is_not_a_project_member_changes_nothing(client, env, factories, requests_mock):
    gid = _linked(client, env, requests_mock)
    client.put(
        f"/api/0/organizations/acme/issues/{gid}/",
        json={"assignedTo": "owner@example.com"},
        headers=env["headers"],
    )
    factories.member(env["org"], "outsider@example.com", projects=[])
    for email in ("outsider@example.com", "nobody@example.com"):
        body = payload("issue_updated_assignee")
        body["issue"]["fields"]["assignee"]["emailAddress"] = email
        body["timestamp"] += 1 if email.startswith("o") else 2
        r = send_webhook(client, body)
        assert r.status_code == 200 and r.json["assignee"] == 0
        assert _issue(client, env["headers"], gid)["assignedTo"]["email"] == "owner@example.com"


def test_unassigned_in_jira_unassigns(client, env, requests_mock):
    gid = _linked(client, env, requests_mock)
    send_webhook(client, payload("issue_updated_assignee"))
    r = send_webhook(client, payload("issue_updated_unassigned"))
    assert r.status_code == 200 and r.json["assignee"] == 1
    assert _issue(client, env["headers"], gid)["assignedTo"] is None
    assert _activity_types(client, env["headers"], gid)[:2] == ["unassigned", "assigned"]


def test_hidden_email_is_looked_up_and_cached(client, env, requests_mock):
    gid = _linked(client, env, requests_mock)
    requests_mock.get(
        f"{SITE}/rest/api/3/user/email",
        json={"accountId": JESS_ACCOUNT, "email": "Jess@Example.com"},
    )
    r = send_webhook(client, payload("issue_updated_assignee_hidden_email"))
    assert r.status_code == 200 and r.json["assignee"] == 1
    assert _issue(client, env["headers"], gid)["assignedTo"]["email"] == "jess@example.com"
    calls = _check_calls(requests_mock)
    assert [(c.method, c.path, c.qs) for c in calls] == [
        ("GET", "/rest/api/3/user/email", {"accountid": [JESS_ACCOUNT]})
    ]
    send_webhook(client, payload("issue_updated_assignee_hidden_email", timestamp=ASSIGNED_AT + 69_000))
    assert len(requests_mock.request_history) == 1  # cached


def test_hidden_email_lookup_failure_changes_nothing(client, env, requests_mock):
    gid = _linked(client, env, requests_mock)
    requests_mock.get(f"{SITE}/rest/api/3/user/email", status_code=403, json={"errorMessages": ["Forbidden"]})
    body = payload("issue_updated_assignee_hidden_email")
    r = send_webhook(client, body)
    assert r.status_code == 200 and "403" in r.json["error_message"]
    assert _issue(client, env["headers"], gid)["assignedTo"] is None
    # Jira redelivers once the lookup works again: this time it is applied.
    requests_mock.get(f"{SITE}/rest/api/3/user/email", json={"accountId": "x", "email": "jess@example.com"})
    assert send_webhook(client, body).json["assignee"] == 1
    assert _issue(client, env["headers"], gid)["assignedTo"]["email"] == "jess@example.com"


def test_stale_event_is_dropped(client, env, requests_mock):
    gid = _linked(client, env, requests_mock)
    assert (
        send_webhook(client, payload("issue_updated_unassigned", timestamp=LATER)).status_code == 200
    )
    # Delivered late: the assignment happened before the unassignment that was already applied.
    r = send_webhook(client, payload("issue_updated_assignee"))
    assert r.status_code == 200 and r.json["assignee"] == 0
    assert _issue(client, env["headers"], gid)["assignedTo"] is None


def test_redelivery_has_no_second_effect(client, env, requests_mock):
    gid = _linked(client, env, requests_mock)
    body = payload("issue_updated_assignee")
    assert send_webhook(client, body).json["assignee"] == 1
    client.put(f"/api/0/organizations/acme/issues/{gid}/", json={"assignedTo": None}, headers=env["headers"])
    again = send_webhook(client, body)  # Jira retries the same delivery (a fresh JWT, the same body)
    assert again.status_code == 200 and again.json == {"detail": "Already processed."}
    assert _issue(client, env["headers"], gid)["assignedTo"] is None


def test_no_changelog_is_a_no_op(client, env, requests_mock):
    gid = _linked(client, env, requests_mock)
    r = send_webhook(client, payload("issue_updated_no_changelog"))
    assert r.status_code == 200 and "No changelog" in r.json["detail"]
    assert _activity_types(client, env["headers"], gid) == ["create_issue", "first_seen"]
    assert requests_mock.request_history == []


def test_payload_without_issue_key_is_400(client, env):
    body = payload("issue_updated_status_done")
    del body["issue"]["key"]
    r = send_webhook(client, body)
    assert r.status_code == 400 and r.json["detail"] == "The payload has no issue.key."
    r = send_webhook(client, {k: v for k, v in payload("issue_updated_status_done").items() if k != "issue"})
    assert r.status_code == 400


def test_body_that_is_not_json_is_400(client, env):
    r = send_webhook(client, b"{not json")
    assert r.status_code == 400 and "JSON" in r.json["detail"]
    assert send_webhook(client, b"[1, 2]").status_code == 400
