"""Inbound: Jira's issue-updated webhook drives linked hub issues (FLOWS §4, §5, §9).

The request verifies, records and answers ``{"detail": "accepted"}`` without calling Jira; the
worker (``run_jobs``) applies the recorded changes and makes the lookups the payload lacks.
"""

from __future__ import annotations

import json

from hub import services
from tests.plugins.jira.conftest import (
    SITE,
    assert_accepted,
    connect_token,
    decode_outbound,
    deliveries,
    link,
    make_retries_due,
    new_issue,
    payload,
    recorded_changes,
    send_webhook,
)
from tests.plugins.jira.payloads import ASSIGNED_AT, JESS_ACCOUNT, LATER
from tests.support.specs import assert_valid_requests

STATUSES = [
    {"id": "10000", "name": "To Do", "statusCategory": {"key": "new"}},
    {"id": "3", "name": "In Progress", "statusCategory": {"key": "indeterminate"}},
    {"id": "10001", "name": "Done", "statusCategory": {"key": "done"}},
]


def _issue(client, headers, gid):
    return client.get(f"/api/0/organizations/acme/issues/{gid}/", headers=headers).json


def _activities(client, headers, gid):
    return client.get(f"/api/0/organizations/acme/issues/{gid}/activities/", headers=headers).json


def _activity_types(client, headers, gid):
    return [a["type"] for a in _activities(client, headers, gid)]


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


def _states(client):
    return [(c["kind"], c["state"]) for c in recorded_changes(client)]


# -- routes and verification ------------------------------------------------------------------


def test_unknown_route_is_404_and_a_wrong_method_405_with_allow(client, env):
    r = client.post("/extensions/jira/issue-deleted/", json={})
    assert r.status_code == 404 and r.json["detail"]
    r = client.get("/extensions/jira/issue-updated/")
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    r = client.put("/extensions/jira/link/anything/")
    assert r.status_code == 405 and set(r.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST"}


def test_an_unverified_request_is_refused_before_its_body_is_parsed(client, env):
    r = send_webhook(client, b"{not json", secret="not-the-site-secret")
    assert r.status_code == 400 and r.json["detail"] == "The Connect JWT is not valid."
    r = client.post("/extensions/jira/issue-updated/", data=b"{not json", content_type="application/json")
    assert r.status_code == 400 and r.json["detail"] == "Missing Connect JWT."
    assert recorded_changes(client) == []


# -- status -----------------------------------------------------------------------------------


def test_status_done_resolves_the_issue_in_the_worker_and_is_not_echoed(client, env, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    requests_mock.get(f"{SITE}/rest/api/3/status", json=STATUSES)
    assert_accepted(send_webhook(client, payload("issue_updated_status_done")))
    assert requests_mock.call_count == 0  # the request thread asks Jira nothing
    assert _issue(client, env["headers"], gid)["status"] == "unresolved"  # recorded, not applied yet

    run_jobs()

    issue = _issue(client, env["headers"], gid)
    assert issue["status"] == "resolved"
    activity = _activities(client, env["headers"], gid)[0]
    assert activity["type"] == "set_resolved" and activity["data"]["provider"] == "jira"
    calls = _check_calls(requests_mock)
    # Only the status-category lookup (for the status it left), in the worker: no transition echoed back.
    assert [(c.method, c.path) for c in calls] == [("GET", "/rest/api/3/status")]
    [change] = recorded_changes(client)
    assert change["kind"] == "status" and change["state"] == "applied" and change["activityIds"]
    assert change["ticket"] == {"key": "APP-123", "id": "10042"}
    assert change["occurredAt"] == ASSIGNED_AT + 180_000
    assert change["data"]["status_id"] == "10001" and change["data"]["from_status_id"] == "3"
    assert change["data"]["project_id"] == "10100"


def test_status_categories_are_cached(client, env, requests_mock, run_jobs):
    _linked(client, env, requests_mock)
    requests_mock.get(f"{SITE}/rest/api/3/status", json=STATUSES)
    send_webhook(client, payload("issue_updated_status_done"))
    run_jobs()
    send_webhook(client, payload("issue_updated_status_done", timestamp=LATER))
    run_jobs()
    assert [c.path for c in requests_mock.request_history] == ["/rest/api/3/status"]


def test_status_lookup_failure_falls_back_on_the_payloads_category(client, env, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    requests_mock.get(f"{SITE}/rest/api/3/status", status_code=503)
    assert_accepted(send_webhook(client, payload("issue_updated_status_done")))
    run_jobs()
    assert _issue(client, env["headers"], gid)["status"] == "resolved"  # "to" category done from the issue


def test_status_without_a_category_waits_for_the_lookup(client, env, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    body = payload("issue_updated_status_done")
    # The issue moved on since: the payload names no category for 10001.
    body["issue"]["fields"]["status"] = {"id": "3", "name": "In Progress"}
    requests_mock.get(f"{SITE}/rest/api/3/status", status_code=503)
    assert_accepted(send_webhook(client, body))
    run_jobs()
    assert _issue(client, env["headers"], gid)["status"] == "unresolved"
    [change] = recorded_changes(client)
    assert change["state"] == "pending" and change["attempts"] == 1 and "503" in change["error"]

    requests_mock.get(f"{SITE}/rest/api/3/status", json=STATUSES)
    make_retries_due()
    run_jobs()
    assert _issue(client, env["headers"], gid)["status"] == "resolved"
    assert _states(client) == [("status", "applied")]


def test_moving_between_open_statuses_changes_nothing(client, env, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    client.put(f"/api/0/organizations/acme/issues/{gid}/", json={"status": "resolved"},
               headers=env["headers"])
    run_jobs()
    requests_mock.get(f"{SITE}/rest/api/3/status", json=STATUSES)
    body = payload("issue_updated_status_done")
    body["issue"]["fields"]["status"] = {"id": "3", "name": "In Progress",
                                         "statusCategory": {"key": "indeterminate"}}
    body["changelog"]["items"][0].update({"from": "10000", "to": "3"})
    assert_accepted(send_webhook(client, body))
    run_jobs()
    assert _issue(client, env["headers"], gid)["status"] == "resolved"  # To Do -> In Progress: not a reopen
    assert recorded_changes(client)[-1]["state"] == "skipped"


def test_status_ignored_when_reverse_sync_is_off(client, env, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    client.put(
        f"/api/0/organizations/acme/integrations/{env['jira'].id}/",
        json={"config": {"sync_status_reverse": False}},
        headers=env["headers"],
    )
    requests_mock.get(f"{SITE}/rest/api/3/status", json=STATUSES)
    assert_accepted(send_webhook(client, payload("issue_updated_status_done")))
    run_jobs()
    assert _issue(client, env["headers"], gid)["status"] == "unresolved"
    [change] = recorded_changes(client)
    assert (change["state"], change["reason"]) == ("skipped", "status sync off")


def test_a_late_echo_of_the_hubs_own_resolve_does_not_undo_the_reopen(client, env, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    requests_mock.get(f"{SITE}/rest/api/3/issue/APP-123", json={"id": "10042", "key": "APP-123", "fields": {
        "status": {"id": "10000", "statusCategory": {"key": "new"}}, "project": {"id": "10100"}}})
    requests_mock.get(f"{SITE}/rest/api/3/issue/APP-123/transitions", json={"transitions": [
        {"id": "11", "name": "To Do", "to": {"id": "10000", "statusCategory": {"key": "new"}}},
        {"id": "31", "name": "Done", "to": {"id": "10001", "statusCategory": {"key": "done"}}}]})
    requests_mock.post(f"{SITE}/rest/api/3/issue/APP-123/transitions", status_code=204)
    requests_mock.get(f"{SITE}/rest/api/3/status", json=STATUSES)
    issue_url = f"/api/0/organizations/acme/issues/{gid}/"
    assert client.put(issue_url, json={"status": "resolved"}, headers=env["headers"]).status_code == 200
    assert client.put(issue_url, json={"status": "unresolved"}, headers=env["headers"]).status_code == 200

    # Jira's "Done" for the hub's resolve arrives after the user reopened the issue.
    assert_accepted(send_webhook(client, payload("issue_updated_status_done", timestamp=LATER)))
    run_jobs()

    assert _issue(client, env["headers"], gid)["status"] == "unresolved"
    [change] = recorded_changes(client)
    assert change["state"] == "echo"


# -- assignee ---------------------------------------------------------------------------------


def test_assignee_email_of_a_project_member_assigns(client, env, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    assert_accepted(send_webhook(client, payload("issue_updated_assignee")))
    run_jobs()
    assert _issue(client, env["headers"], gid)["assignedTo"]["email"] == "jess@example.com"
    assert requests_mock.request_history == []  # no Jira call, no echo
    [change] = recorded_changes(client)
    assert change["kind"] == "assignee" and change["state"] == "applied"
    assert change["data"]["email"] == "jess@example.com" and change["data"]["assign"] is True


def test_assignee_who_is_not_a_project_member_changes_nothing(client, env, factories, requests_mock,
                                                               run_jobs):
    gid = _linked(client, env, requests_mock)
    client.put(f"/api/0/organizations/acme/issues/{gid}/", json={"assignedTo": "owner@example.com"},
               headers=env["headers"])
    run_jobs()
    requests_mock.reset_mock()
    factories.member(env["org"], "outsider@example.com", projects=[])
    for email in ("outsider@example.com", "nobody@example.com"):
        body = payload("issue_updated_assignee")
        body["issue"]["fields"]["assignee"]["emailAddress"] = email
        body["timestamp"] += 1 if email.startswith("o") else 2
        assert_accepted(send_webhook(client, body))
        run_jobs()
        assert _issue(client, env["headers"], gid)["assignedTo"]["email"] == "owner@example.com"
    reasons = [c["reason"] for c in recorded_changes(client)]
    assert reasons == ["not a member of the issue's project", "identity unknown"]


def test_unassigned_in_jira_unassigns(client, env, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    requests_mock.get(f"{SITE}/rest/api/3/user/email",
                      json={"accountId": JESS_ACCOUNT, "email": "jess@example.com"})
    send_webhook(client, payload("issue_updated_assignee"))
    assert_accepted(send_webhook(client, payload("issue_updated_unassigned")))
    requests_mock.reset_mock()
    run_jobs()
    assert _issue(client, env["headers"], gid)["assignedTo"] is None
    assert _activity_types(client, env["headers"], gid)[:2] == ["unassigned", "assigned"]
    # whom the changelog says it removed (its "from"), by email: the hub removes only that user
    assert [(c.method, c.path, c.qs) for c in _check_calls(requests_mock)] == [
        ("GET", "/rest/api/3/user/email", {"accountid": [JESS_ACCOUNT]})]
    [*_, unassign] = recorded_changes(client)
    assert unassign["data"]["account_id"] == JESS_ACCOUNT


STRANGER_ACCOUNT = "712020:9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"


def _reassigned_in_jira_to_a_stranger(client, env, requests_mock, run_jobs):
    """Jess assigned from Jira (the hub's assignee, synced); then Jira assigns someone the hub
    does not know (skipped): Jira's assignee is the stranger, the hub's still Jess."""
    gid = _linked(client, env, requests_mock)
    assert_accepted(send_webhook(client, payload("issue_updated_assignee")))
    stranger = payload("issue_updated_assignee", timestamp=ASSIGNED_AT + 60_000)
    stranger["issue"]["fields"]["assignee"] = {"accountId": STRANGER_ACCOUNT, "displayName": "Robin",
                                               "emailAddress": "robin@elsewhere.example"}
    stranger["changelog"]["items"][0].update({"from": JESS_ACCOUNT, "to": STRANGER_ACCOUNT})
    assert_accepted(send_webhook(client, stranger))
    run_jobs()
    assert _issue(client, env["headers"], gid)["assignedTo"]["email"] == "jess@example.com"
    unassigned = payload("issue_updated_unassigned")
    unassigned["changelog"]["items"][0]["from"] = STRANGER_ACCOUNT
    assert_accepted(send_webhook(client, unassigned))
    return gid


def test_an_unassign_in_jira_of_someone_else_keeps_the_hubs_assignee(client, env, requests_mock, run_jobs):
    requests_mock.get(f"{SITE}/rest/api/3/user/email",
                      json={"accountId": STRANGER_ACCOUNT, "email": "robin@elsewhere.example"})
    gid = _reassigned_in_jira_to_a_stranger(client, env, requests_mock, run_jobs)
    run_jobs()
    assert _issue(client, env["headers"], gid)["assignedTo"]["email"] == "jess@example.com"
    assert recorded_changes(client)[-1]["reason"] == "the issue's assignee is someone else"
    assert requests_mock.last_request.qs == {"accountid": [STRANGER_ACCOUNT.lower()]}


def test_an_unassign_whose_removed_user_jira_cannot_name_removes_whom_the_ticket_last_synced(
        client, env, requests_mock, run_jobs):
    requests_mock.get(f"{SITE}/rest/api/3/user/email", status_code=404, json={"errorMessages": ["No user"]})
    gid = _reassigned_in_jira_to_a_stranger(client, env, requests_mock, run_jobs)
    run_jobs()
    assert _issue(client, env["headers"], gid)["assignedTo"] is None
    assert _states(client)[-1] == ("assignee", "applied")


def test_an_unassign_lookup_jira_fails_for_now_is_retried(client, env, requests_mock, run_jobs):
    requests_mock.get(f"{SITE}/rest/api/3/user/email", status_code=503, json={"errorMessages": ["Busy"]})
    gid = _reassigned_in_jira_to_a_stranger(client, env, requests_mock, run_jobs)
    run_jobs()
    assert _issue(client, env["headers"], gid)["assignedTo"]["email"] == "jess@example.com"
    assert _states(client)[-1] == ("assignee", "pending")
    requests_mock.get(f"{SITE}/rest/api/3/user/email",
                      json={"accountId": STRANGER_ACCOUNT, "email": "robin@elsewhere.example"})
    make_retries_due()
    run_jobs()
    assert _issue(client, env["headers"], gid)["assignedTo"]["email"] == "jess@example.com"
    assert recorded_changes(client)[-1]["reason"] == "the issue's assignee is someone else"


def test_an_unassign_whose_lookup_never_succeeds_still_applies_as_the_core_falls_back(
        client, env, requests_mock, run_jobs):
    """Jira keeps failing the lookup of whom it removed: after the last try the unassign is applied
    without it (removing whom the ticket last synced), not failed and lost."""
    from hub.inbound import MAX_ATTEMPTS

    busy = requests_mock.get(f"{SITE}/rest/api/3/user/email", status_code=503,
                             json={"errorMessages": ["Busy"]})
    gid = _reassigned_in_jira_to_a_stranger(client, env, requests_mock, run_jobs)
    run_jobs()
    for _ in range(MAX_ATTEMPTS - 2):
        make_retries_due()
        run_jobs()
    assert _issue(client, env["headers"], gid)["assignedTo"]["email"] == "jess@example.com"
    assert _states(client)[-1] == ("assignee", "pending")
    make_retries_due()
    run_jobs()
    assert busy.call_count == MAX_ATTEMPTS
    assert _issue(client, env["headers"], gid)["assignedTo"] is None
    assert _states(client)[-1] == ("assignee", "applied")


def test_a_hidden_email_whose_lookup_never_succeeds_fails_the_assign(client, env, requests_mock, run_jobs):
    """An assign means nothing without whom it assigns: after the last try it is failed, with the error."""
    from hub.inbound import MAX_ATTEMPTS

    gid = _linked(client, env, requests_mock)
    requests_mock.get(f"{SITE}/rest/api/3/user/email", status_code=503, json={"errorMessages": ["Busy"]})
    assert_accepted(send_webhook(client, payload("issue_updated_assignee_hidden_email")))
    run_jobs()
    for _ in range(MAX_ATTEMPTS - 1):
        make_retries_due()
        run_jobs()
    assert _issue(client, env["headers"], gid)["assignedTo"] is None
    [change] = deliveries(client)[0]["changes"]
    assert change["state"] == "failed" and change["attempts"] == MAX_ATTEMPTS and "503" in change["error"]


def test_hidden_email_is_looked_up_by_the_worker_and_cached(client, env, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    requests_mock.get(f"{SITE}/rest/api/3/user/email",
                      json={"accountId": JESS_ACCOUNT, "email": "Jess@Example.com"})
    assert_accepted(send_webhook(client, payload("issue_updated_assignee_hidden_email")))
    assert requests_mock.call_count == 0
    [change] = recorded_changes(client)
    assert change["data"]["email"] is None and change["data"]["account_id"] == JESS_ACCOUNT

    run_jobs()

    assert _issue(client, env["headers"], gid)["assignedTo"]["email"] == "jess@example.com"
    calls = _check_calls(requests_mock)
    assert [(c.method, c.path, c.qs) for c in calls] == [
        ("GET", "/rest/api/3/user/email", {"accountid": [JESS_ACCOUNT]})
    ]
    send_webhook(client, payload("issue_updated_assignee_hidden_email", timestamp=ASSIGNED_AT + 69_000))
    run_jobs()
    assert len(requests_mock.request_history) == 1  # cached


def test_hidden_email_lookup_failing_is_retried_by_the_worker(client, env, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    requests_mock.get(f"{SITE}/rest/api/3/user/email", status_code=503, json={"errorMessages": ["Busy"]})
    assert_accepted(send_webhook(client, payload("issue_updated_assignee_hidden_email")))
    run_jobs()
    assert _issue(client, env["headers"], gid)["assignedTo"] is None
    [delivery] = deliveries(client)
    assert delivery["state"] == "received"
    [change] = delivery["changes"]
    assert change["state"] == "pending" and change["attempts"] == 1 and "503" in change["error"]

    requests_mock.get(f"{SITE}/rest/api/3/user/email",
                      json={"accountId": JESS_ACCOUNT, "email": "jess@example.com"})
    make_retries_due()
    run_jobs()
    assert _issue(client, env["headers"], gid)["assignedTo"]["email"] == "jess@example.com"
    assert _states(client) == [("assignee", "applied")]
    assert len(requests_mock.request_history) == 2


def test_hidden_email_lookup_refused_fails_the_change(client, env, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    requests_mock.get(f"{SITE}/rest/api/3/user/email", status_code=403, json={"errorMessages": ["Forbidden"]})
    assert_accepted(send_webhook(client, payload("issue_updated_assignee_hidden_email")))
    run_jobs()
    assert _issue(client, env["headers"], gid)["assignedTo"] is None
    [delivery] = deliveries(client)
    assert delivery["state"] == "failed" and "403" in delivery["changes"][0]["error"]
    assert "Forbidden" not in json.dumps(delivery)  # the hub's words, not Jira's


# -- order and redelivery ---------------------------------------------------------------------


def test_an_older_event_applied_after_a_newer_one_is_stale(client, env, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    requests_mock.get(f"{SITE}/rest/api/3/user/email",
                      json={"accountId": JESS_ACCOUNT, "email": "jess@example.com"})
    assert_accepted(send_webhook(client, payload("issue_updated_unassigned", timestamp=LATER)))
    run_jobs()
    # Delivered late: the assignment happened before the unassignment that was already applied.
    assert_accepted(send_webhook(client, payload("issue_updated_assignee")))
    run_jobs()
    assert _issue(client, env["headers"], gid)["assignedTo"] is None
    older = deliveries(client)[-1]
    assert older["state"] == "stale" and older["changes"][0]["state"] == "stale"


def test_redelivery_has_no_second_effect(client, env, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    body = payload("issue_updated_assignee")
    assert_accepted(send_webhook(client, body))
    run_jobs()
    client.put(f"/api/0/organizations/acme/issues/{gid}/", json={"assignedTo": None}, headers=env["headers"])
    again = send_webhook(client, body)  # Jira retries the same delivery (a fresh JWT, the same body)
    assert again.status_code == 200 and again.json["detail"] == "Already processed."
    run_jobs()
    assert _issue(client, env["headers"], gid)["assignedTo"] is None
    assert [d["state"] for d in deliveries(client)] == ["applied", "duplicate"]


def test_a_redelivery_with_the_same_webhook_identifier_is_a_duplicate(client, env, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    path = "/extensions/jira/issue-updated/"

    def post(body):
        token = connect_token("POST", path)
        headers = {"Authorization": f"JWT {token}", "X-Atlassian-Webhook-Identifier": "wh-1"}
        return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)

    assert_accepted(post(payload("issue_updated_assignee")))
    run_jobs()
    client.put(f"/api/0/organizations/acme/issues/{gid}/", json={"assignedTo": None}, headers=env["headers"])
    # The retry's body differs (Jira re-renders it), its identifier does not.
    again = post(payload("issue_updated_assignee", timestamp=ASSIGNED_AT + 1))
    assert again.status_code == 200 and again.json["detail"] == "Already processed."
    run_jobs()
    assert _issue(client, env["headers"], gid)["assignedTo"] is None
    assert deliveries(client)[0]["dedupeKey"] == "jira-webhook:wh-1"


# -- one ticket, two orgs ---------------------------------------------------------------------


def test_one_ticket_linked_from_two_orgs_follows_each_orgs_settings(client, env, factories, requests_mock,
                                                                     run_jobs):
    gid = _linked(client, env, requests_mock)
    client.put(f"/api/0/organizations/acme/integrations/{env['jira'].id}/",
               json={"config": {"sync_assignee_inbound": False}}, headers=env["headers"])
    other = factories.setup("globex", email="owner@globex.example")
    factories.member(other["org"], "jess@example.com", projects=[other["project"]], name="Jess")
    factories.integration(other["org"], "jira", env["jira"].external_id,
                          config={"sync_status_reverse": False, "sync_assignee_inbound": True})
    theirs = factories.group(other["project"])
    factories.link(theirs, env["jira"], "APP-123")
    their_url = f"/api/0/organizations/globex/issues/{theirs.id}/"
    requests_mock.get(f"{SITE}/rest/api/3/status", json=STATUSES)

    assert_accepted(send_webhook(client, payload("issue_updated_assignee")))
    assert_accepted(send_webhook(client, payload("issue_updated_status_done")))
    run_jobs()

    ours = _issue(client, env["headers"], gid)
    assert ours["status"] == "resolved" and ours["assignedTo"] is None
    shown = client.get(their_url, headers=other["headers"]).json
    assert shown["status"] == "unresolved" and shown["assignedTo"]["email"] == "jess@example.com"
    assert services.get_integration("jira", env["jira"].external_id) is not None

    # each org's delivery log tells what the change did to its own issues, not the other's
    def outcomes(org: str, headers: dict[str, str]) -> list[tuple[str, str, str | None]]:
        [status, assignee] = client.get(f"/api/0/organizations/{org}/deliveries/", headers=headers).json
        return [(d["state"], d["changes"][0]["state"], d["changes"][0]["reason"]) for d in (assignee, status)]

    assert outcomes("acme", env["headers"]) == [
        ("skipped", "skipped", "assignee sync off"), ("applied", "applied", None)]
    assert outcomes("globex", other["headers"]) == [
        ("applied", "applied", None), ("skipped", "skipped", "status sync off")]
    out = client.application.test_cli_runner().invoke(args=["deliveries", "--json"])
    [status, assignee] = json.loads(out.output)
    ids = {str(env["org"].id): "acme", str(other["org"].id): "globex"}
    assert {ids[org]: o["state"] for org, o in assignee["changes"][0]["outcomes"].items()} == {
        "acme": "skipped", "globex": "applied"}


def test_an_org_sharing_the_integration_sees_and_replays_only_what_concerns_its_own_issues(
        client, env, factories, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    other = factories.setup("globex", email="owner@globex.example")
    factories.member(other["org"], "jess@example.com", projects=[other["project"]], name="Jess")
    factories.integration(other["org"], "jira", env["jira"].external_id,
                          config={"sync_assignee_inbound": True})
    theirs = factories.group(other["project"])
    factories.link(theirs, env["jira"], "APP-999")  # another ticket of the same site
    ledger = "/api/0/organizations/globex/deliveries/"

    assert_accepted(send_webhook(client, payload("issue_updated_assignee")))  # APP-123: acme's only
    run_jobs()
    [ours] = client.get("/api/0/organizations/acme/deliveries/", headers=env["headers"]).json
    assert ours["state"] == "applied" and ours["changes"][0]["activityIds"]
    assert client.get(ledger, headers=other["headers"]).json == []
    assert client.get(f"{ledger}{ours['id']}/", headers=other["headers"]).status_code == 404
    client.put(f"/api/0/organizations/acme/issues/{gid}/", json={"assignedTo": None}, headers=env["headers"])
    r = client.post(f"{ledger}{ours['id']}/replay/", headers=other["headers"])
    assert r.status_code == 404
    assert _issue(client, env["headers"], gid)["assignedTo"] is None  # globex cannot re-assign acme's issue

    factories.link(theirs, env["jira"], "APP-123")  # now both orgs link the ticket
    r = client.post(f"{ledger}{ours['id']}/replay/", headers=other["headers"])
    assert r.status_code == 200, r.json
    assert _issue(client, env["headers"], gid)["assignedTo"] is None  # acme's issue: untouched
    their_url = f"/api/0/organizations/globex/issues/{theirs.id}/"
    their_issue = client.get(their_url, headers=other["headers"]).json
    assert their_issue["assignedTo"]["email"] == "jess@example.com"
    [replayed, original] = client.get(ledger, headers=other["headers"]).json
    assert replayed["replayOf"] == original["id"] == ours["id"]
    theirs_activity = client.get(f"/api/0/organizations/globex/issues/{theirs.id}/activities/",
                                 headers=other["headers"]).json
    assigned = [a["id"] for a in theirs_activity if a["type"] == "assigned"]
    assert replayed["changes"][0]["activityIds"] == assigned
    assert original["changes"][0]["activityIds"] == []  # acme's activity is not shown to globex
    # acme sees globex's replay (it links the ticket too), as what it did to acme's issues: nothing
    acme_ledger = client.get("/api/0/organizations/acme/deliveries/", headers=env["headers"]).json
    [acmes_view] = [d for d in acme_ledger if d["id"] == replayed["id"]]
    assert (acmes_view["changes"][0]["state"], acmes_view["changes"][0]["reason"]) == (
        "skipped", "not applied for this org")


# -- bodies -----------------------------------------------------------------------------------


def test_no_changelog_is_a_no_op(client, env, requests_mock, run_jobs):
    gid = _linked(client, env, requests_mock)
    r = send_webhook(client, payload("issue_updated_no_changelog"))
    assert r.status_code == 200 and "No changelog" in r.json["detail"]
    run_jobs()
    assert _activity_types(client, env["headers"], gid) == ["create_issue", "first_seen"]
    assert requests_mock.request_history == []
    assert [(d["state"], d["changes"]) for d in deliveries(client)] == [("skipped", [])]


def test_payload_without_issue_key_is_400(client, env):
    body = payload("issue_updated_status_done")
    del body["issue"]["key"]
    r = send_webhook(client, body)
    assert r.status_code == 400 and r.json["detail"] == "The payload has no issue.key."
    r = send_webhook(client, {k: v for k, v in payload("issue_updated_status_done").items() if k != "issue"})
    assert r.status_code == 400
    assert recorded_changes(client) == []


def test_body_that_is_not_json_is_400(client, env):
    r = send_webhook(client, b"{not json")
    assert r.status_code == 400 and "JSON" in r.json["detail"]
    assert send_webhook(client, b"[1, 2]").status_code == 400
