"""POST /extensions/jira_server/issue-updated/<token>/: the token is the proof, then FLOWS §4.

The request verifies the token, records the changes and answers ``{"detail": "accepted"}``;
``run_jobs()`` (the worker) applies them.
"""

from __future__ import annotations

import json

import jwt
import pytest

from hub import services
from tests.plugins.jira.conftest import assert_accepted, deliveries, recorded_changes
from tests.plugins.jira_server.conftest import (
    BASE_URL,
    EXTERNAL_ID,
    assert_all_signed_and_valid,
    configure,
    install,
    link,
    mock_install,
    new_issue,
)
from tests.plugins.jira_server.payloads import ASSIGNEE_EMAIL, ASSIGNEE_NAME, issue_assigned


def post(client, path, payload):
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return client.post(path, data=body, headers={"Content-Type": "application/json"})


def issue(client, s, group_id):
    return client.get(f"/api/0/organizations/acme/issues/{group_id}/", headers=s["headers"]).json


@pytest.fixture
def linked(client, factories, installed, requests_mock):
    """APP-1 linked to an issue of acme; Priya (the payload's assignee) is a member of its project."""
    s = installed
    factories.member(s["org"], "Priya@Example.org", projects=[s["project"]], name="Priya")
    configure(client, s, sync_assignee_inbound=True, sync_status_reverse=True)
    group_id = new_issue(client, s)
    link(client, s, requests_mock, group_id)
    requests_mock.reset_mock()
    return {**s, "group_id": group_id}


def test_assignee_set_from_fixture_payload(client, linked, requests_mock, run_jobs):
    assert_accepted(post(client, linked["webhook_path"], issue_assigned()))
    assert requests_mock.call_count == 0  # no provider call in the request
    assert issue(client, linked, linked["group_id"])["assignedTo"] is None  # recorded, not applied yet

    run_jobs()

    assert issue(client, linked, linked["group_id"])["assignedTo"]["email"] == ASSIGNEE_EMAIL
    activities = client.get(f"/api/0/organizations/acme/issues/{linked['group_id']}/activities/",
                            headers=linked["headers"]).json
    assert activities[0]["type"] == "assigned"
    assert activities[0]["data"].get("provider") == "jira_server"
    assert requests_mock.request_history == []  # the email was in the payload: no lookup
    [change] = recorded_changes(client)
    assert change["ticket"] == {"key": "APP-1", "id": "10200"} and change["occurredAt"] == 1_795_171_200_000
    assert change["dateOccurred"] == "2026-11-20T10:40:00.000Z"
    assert change["data"]["project_id"] == "10000" and change["state"] == "applied"


def test_redelivery_has_no_second_effect(client, linked, run_jobs):
    payload = issue_assigned()
    assert_accepted(post(client, linked["webhook_path"], payload))
    run_jobs()
    client.put(f"/api/0/organizations/acme/issues/{linked['group_id']}/", headers=linked["headers"],
               json={"assignedTo": None})

    again = post(client, linked["webhook_path"], payload)
    run_jobs()

    assert again.status_code == 200 and again.json["detail"] == "Already processed."
    assert issue(client, linked, linked["group_id"])["assignedTo"] is None
    assert [d["state"] for d in deliveries(client)] == ["applied", "duplicate"]


def test_a_webhook_identifier_is_one_site_s_another_jira_may_send_the_same(
        client, linked, requests_mock, metadata, run_jobs):
    """Jira numbers its webhooks per site: the same ``X-Atlassian-Webhook-Identifier`` from a second
    Jira is another delivery, not a duplicate (nor can one tenant's Jira claim another's ids)."""
    other_url = "https://other-jira.example.org"
    mock_install(requests_mock, base_url=other_url, webhook_id=8)
    r = install(client, linked["headers"], {**metadata, "base_url": other_url}, external_id="other-jira:hub")
    assert r.status_code == 201, r.json
    register = [q for q in requests_mock.request_history if q.url == f"{other_url}/rest/webhooks/1.0/webhook"]
    other_path = register[-1].json()["url"][len("http://hub.test"):]
    same_id = {"Content-Type": "application/json", "X-Atlassian-Webhook-Identifier": "4242"}

    first = client.post(linked["webhook_path"], data=json.dumps(issue_assigned()), headers=same_id)
    second = client.post(other_path, data=json.dumps(issue_assigned(timestamp=1_795_171_300_000)),
                         headers=same_id)
    retry_body = json.dumps(issue_assigned(timestamp=1_795_171_400_000))
    retried = client.post(linked["webhook_path"], data=retry_body, headers=same_id)

    assert_accepted(first)
    assert_accepted(second)
    assert retried.status_code == 200 and retried.json["detail"] == "Already processed."  # the first's retry
    run_jobs()
    logged = {(d["integrationId"], d["state"]) for d in deliveries(client)}
    assert logged == {(linked["integration_id"], "applied"), (r.json["id"], "skipped"),
                      (linked["integration_id"], "duplicate")}, logged


def _unassigned(removed: str = ASSIGNEE_NAME) -> dict:
    payload = issue_assigned()
    payload["issue"]["fields"]["assignee"] = None
    payload["timestamp"] += 1000
    payload["changelog"]["items"][0].update({"from": removed, "to": None})
    return payload


def test_unassign(client, linked, requests_mock, run_jobs, rsa_keys):
    assert_accepted(post(client, linked["webhook_path"], issue_assigned()))
    run_jobs()
    requests_mock.get(f"{BASE_URL}/rest/api/2/user",
                      json={"key": ASSIGNEE_NAME, "name": ASSIGNEE_NAME, "emailAddress": ASSIGNEE_EMAIL})

    assert_accepted(post(client, linked["webhook_path"], _unassigned()))
    run_jobs()
    assert issue(client, linked, linked["group_id"])["assignedTo"] is None
    [lookup] = requests_mock.request_history  # whom the changelog removed, by user key
    assert (lookup.method, lookup.path) == ("GET", "/rest/api/2/user")
    assert lookup.qs == {"key": [ASSIGNEE_NAME.lower()]}
    assert assert_all_signed_and_valid(requests_mock.request_history, rsa_keys[1]) == 1


def test_an_unassign_of_another_user_keeps_the_hubs_assignee(client, linked, requests_mock, run_jobs):
    assert_accepted(post(client, linked["webhook_path"], issue_assigned()))
    run_jobs()
    requests_mock.get(f"{BASE_URL}/rest/api/2/user",
                      json={"key": "JIRAUSER10100", "name": "robin",
                            "emailAddress": "robin@elsewhere.example"})

    assert_accepted(post(client, linked["webhook_path"], _unassigned("JIRAUSER10100")))
    run_jobs()
    assert issue(client, linked, linked["group_id"])["assignedTo"]["email"] == ASSIGNEE_EMAIL.lower()
    assert recorded_changes(client)[-1]["reason"] == "the issue's assignee is someone else"


def test_a_site_hiding_whom_an_unassign_removed_is_asked_once(client, linked, requests_mock, run_jobs):
    """The site hides the user's email: the unassign falls back to whom the ticket last synced, and the
    answer is cached like an email, so the next unassign of that user does not ask again."""
    hidden = requests_mock.get(f"{BASE_URL}/rest/api/2/user",
                               json={"key": ASSIGNEE_NAME, "name": ASSIGNEE_NAME})
    for step in range(2):
        assigned = issue_assigned()
        assigned["timestamp"] += 10_000 * step
        assert_accepted(post(client, linked["webhook_path"], assigned))
        unassigned = _unassigned()
        unassigned["timestamp"] += 10_000 * step
        assert_accepted(post(client, linked["webhook_path"], unassigned))
        run_jobs()
        assert issue(client, linked, linked["group_id"])["assignedTo"] is None
    assert hidden.call_count == 1


def test_unknown_email_changes_nothing(client, linked, run_jobs):
    payload = issue_assigned()
    payload["issue"]["fields"]["assignee"]["emailAddress"] = "stranger@example.org"

    assert_accepted(post(client, linked["webhook_path"], payload))
    run_jobs()
    assert issue(client, linked, linked["group_id"])["assignedTo"] is None
    assert recorded_changes(client)[0]["reason"] == "identity unknown"


def test_an_assignee_without_an_email_is_not_looked_up_on_a_server(client, linked, requests_mock, run_jobs):
    payload = issue_assigned()
    del payload["issue"]["fields"]["assignee"]["emailAddress"]

    assert_accepted(post(client, linked["webhook_path"], payload))
    run_jobs()

    assert issue(client, linked, linked["group_id"])["assignedTo"] is None
    assert requests_mock.request_history == []  # Jira Server has no email lookup: never an unassign either
    assert recorded_changes(client)[0]["reason"] == "identity unknown"


def test_status_done_resolves(client, linked, requests_mock, run_jobs):
    payload = issue_assigned()
    payload["issue"]["fields"]["status"] = {"id": "10102", "name": "Done", "statusCategory": {"key": "done"}}
    payload["changelog"]["items"] = [{"field": "status", "fieldtype": "jira", "from": "10101",
                                      "fromString": "In Progress", "to": "10102", "toString": "Done"}]
    requests_mock.get("https://jira.example.org/rest/api/2/status", json=[
        {"id": "10101", "name": "In Progress", "statusCategory": {"key": "indeterminate"}},
        {"id": "10102", "name": "Done", "statusCategory": {"key": "done"}}])

    assert_accepted(post(client, linked["webhook_path"], payload))
    assert requests_mock.call_count == 0
    run_jobs()

    assert issue(client, linked, linked["group_id"])["status"] == "resolved"
    assert [(q.method, q.path) for q in requests_mock.request_history] == [("GET", "/rest/api/2/status")]


def test_status_lookup_answering_one_status_object_is_not_a_failure(client, linked, requests_mock, run_jobs):
    # The Data Center spec documents GET /status as one StatusBean (its mock answers that).
    payload = issue_assigned()
    payload["issue"]["fields"]["status"] = {"id": "10102", "name": "Done", "statusCategory": {"key": "done"}}
    payload["changelog"]["items"] = [{"field": "status", "fieldtype": "jira", "from": "10101",
                                      "fromString": "In Progress", "to": "10102", "toString": "Done"}]
    requests_mock.get("https://jira.example.org/rest/api/2/status",
                      json={"id": "10101", "name": "In Progress", "statusCategory": {"key": "indeterminate"}})

    assert_accepted(post(client, linked["webhook_path"], payload))
    run_jobs()

    assert issue(client, linked, linked["group_id"])["status"] == "resolved"
    assert recorded_changes(client)[0]["state"] == "applied"


def test_missing_changelog_is_a_noop(client, linked):
    payload = issue_assigned()
    del payload["changelog"]

    r = post(client, linked["webhook_path"], payload)

    assert r.status_code == 200
    assert issue(client, linked, linked["group_id"])["assignedTo"] is None


@pytest.mark.parametrize("mutate", [
    lambda p: p.pop("issue"),
    lambda p: p["issue"].pop("key"),
], ids=["no-issue", "no-issue-key"])
def test_payload_missing_fields_is_400(client, linked, mutate):
    payload = issue_assigned()
    mutate(payload)

    r = post(client, linked["webhook_path"], payload)

    assert r.status_code == 400
    assert r.json["detail"]
    assert issue(client, linked, linked["group_id"])["assignedTo"] is None


def test_body_not_json_is_400(client, linked):
    r = post(client, linked["webhook_path"], b"{not json")
    assert r.status_code == 400
    assert "JSON" in r.json["detail"]


# -- the token ------------------------------------------------------------------------------------


def _assert_rejected(r):
    assert r.status_code == 400
    assert r.json["detail"] == "Invalid webhook token."


def test_empty_token_is_400(client, linked):
    _assert_rejected(post(client, "/extensions/jira_server/issue-updated//", issue_assigned()))
    _assert_rejected(post(client, "/extensions/jira_server/issue-updated/", issue_assigned()))


def test_unknown_route_is_404_and_a_wrong_method_405_with_allow(client, linked):
    assert post(client, "/extensions/jira_server/issue-deleted/", {}).status_code == 404
    r = client.get(linked["webhook_path"])
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    r = client.delete("/extensions/jira_server/setup/")
    assert r.status_code == 405 and set(r.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST"}
    r = client.post("/extensions/jira_server/oauth-callback/")
    assert r.status_code == 405 and set(r.headers["Allow"].split(", ")) == {"GET", "HEAD"}


def test_garbage_token_is_400_before_the_body_is_read(client, linked):
    # the body is not even JSON: a 400 about the token proves nothing else was read
    _assert_rejected(post(client, "/extensions/jira_server/issue-updated/garbage.not.jwt/", b"{not json"))
    assert recorded_changes(client) == []


def test_unknown_integration_token_is_400(client, linked):
    token = jwt.encode(
        {"id": "jira.other.org:someone"}, "an-unrelated-key-of-at-least-32-bytes", algorithm="HS256"
    )
    _assert_rejected(post(client, f"/extensions/jira_server/issue-updated/{token}/", b"{not json"))


def test_token_signed_with_another_key_is_400(client, linked):
    token = jwt.encode({"id": EXTERNAL_ID}, "not-the-integration-key-but-32-bytes-long", algorithm="HS256")
    r = post(client, f"/extensions/jira_server/issue-updated/{token}/", issue_assigned())
    _assert_rejected(r)
    assert issue(client, linked, linked["group_id"])["assignedTo"] is None


def test_token_with_other_algorithm_is_400(client, linked):
    token = jwt.encode({"id": EXTERNAL_ID}, None, algorithm="none")
    _assert_rejected(post(client, f"/extensions/jira_server/issue-updated/{token}/", b"{}"))


def test_token_of_uninstalled_integration_is_400(client, linked, requests_mock):
    requests_mock.delete("https://jira.example.org/rest/webhooks/1.0/webhook/7", status_code=204)
    assert client.delete(f"/api/0/organizations/acme/integrations/{linked['integration_id']}/",
                         headers=linked["headers"]).status_code == 204
    assert services.get_integration("jira_server", EXTERNAL_ID).status == "disabled"

    _assert_rejected(post(client, linked["webhook_path"], issue_assigned()))
