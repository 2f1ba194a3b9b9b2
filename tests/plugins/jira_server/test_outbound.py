"""Hub → Jira Server through the REST API and real jobs: link, create, status, assignee, comments.

Every captured request to Jira is checked for a valid OAuth1 RSA-SHA1 signature (with the public
key of the application link) and against the Jira DC spec.
"""

from __future__ import annotations

from sqlalchemy import select

from hub.extensions import db
from hub.models import OutboxEntry
from tests.plugins.jira_server.conftest import (
    BASE_URL,
    assert_all_signed_and_valid,
    assert_oauth1_signed,
    configure,
    link,
    new_issue,
)

ISSUE = f"{BASE_URL}/rest/api/2/issue/APP-1"


def outbox(kind):
    db.session.remove()
    return [(row.status, row.outcome or row.last_error) for row in
            db.session.scalars(select(OutboxEntry).where(OutboxEntry.kind == kind))]


def calls(requests_mock):
    return [(r.method, r.url) for r in requests_mock.request_history]


def test_link_reads_the_ticket_signed(client, installed, requests_mock, rsa_keys):
    s = installed
    group_id = new_issue(client, s)

    r = link(client, s, requests_mock, group_id)

    assert r.json["key"] == "APP-1"
    assert r.json["url"] == f"{BASE_URL}/browse/APP-1"
    assert r.json["title"] == "KeyError: 'user'"
    assert calls(requests_mock) == [("GET", ISSUE)]
    assert_oauth1_signed(requests_mock.request_history[0], rsa_keys[1])
    assert_all_signed_and_valid(requests_mock.request_history, rsa_keys[1])
    again = client.post(
        f"/api/0/organizations/acme/issues/{group_id}/external-issues/",
        headers=s["headers"],
        json={"integrationId": s["integration_id"], "action": "link", "externalIssue": "APP-1"},
    )
    assert again.status_code == 400
    assert again.json["detail"] == "That issue is already linked"


def test_link_unknown_key_is_400(client, installed, requests_mock):
    s = installed
    group_id = new_issue(client, s)
    requests_mock.get(f"{BASE_URL}/rest/api/2/issue/APP-404", status_code=404,
                      json={"errorMessages": ["Issue Does Not Exist"], "errors": {}})

    r = client.post(f"/api/0/organizations/acme/issues/{group_id}/external-issues/", headers=s["headers"],
                    json={"integrationId": s["integration_id"], "action": "link", "externalIssue": "APP-404"})

    assert r.status_code == 400
    assert "APP-404" in r.json["detail"] and "Issue Does Not Exist" not in str(r.json)
    assert client.get(f"/api/0/organizations/acme/issues/{group_id}/", headers=s["headers"]).json[
        "externalIssues"] == []


def test_create_ticket_with_plain_text_description(client, installed, requests_mock, rsa_keys):
    s = installed
    group_id = new_issue(client, s)
    requests_mock.post(f"{BASE_URL}/rest/api/2/issue", status_code=201,
                       json={"id": "10300", "key": "APP-7", "self": f"{BASE_URL}/rest/api/2/issue/10300"})

    r = client.post(f"/api/0/organizations/acme/issues/{group_id}/external-issues/", headers=s["headers"],
                    json={"integrationId": s["integration_id"], "action": "create",
                          "fields": {"title": "Profile crashes", "project": "10000", "issuetype": "10004",
                                     "labels": "hub, backend", "assignee": "bob"}})

    assert r.status_code == 201, r.json
    assert r.json["key"] == "APP-7"
    sent = requests_mock.request_history[-1].json()["fields"]
    assert sent["summary"] == "Profile crashes"
    assert sent["project"] == {"id": "10000"}
    assert sent["issuetype"] == {"id": "10004"}
    assert sent["labels"] == ["hub", "backend"]
    assert sent["assignee"] == {"name": "bob"}
    assert isinstance(sent["description"], str)
    assert "KeyError: 'user'" in sent["description"] and "app.views.profile" in sent["description"]
    assert_all_signed_and_valid(requests_mock.request_history, rsa_keys[1])


def test_create_needs_project_and_issuetype(client, installed, requests_mock):
    s = installed
    group_id = new_issue(client, s)

    r = client.post(f"/api/0/organizations/acme/issues/{group_id}/external-issues/", headers=s["headers"],
                    json={"integrationId": s["integration_id"], "action": "create", "fields": {"title": "x"}})

    assert r.status_code == 400
    assert set(r.json["errors"]) == {"project", "issuetype"}
    assert requests_mock.request_history == []


def _resolve_flow(client, s, requests_mock, group_id, current_status="10101"):
    requests_mock.get(ISSUE, json={"id": "10200", "key": "APP-1", "fields": {
        "summary": "KeyError: 'user'", "project": {"id": "10000", "key": "APP"},
        "status": {"id": current_status, "name": "In Progress", "statusCategory": {"key": "indeterminate"}}}})
    requests_mock.get(f"{ISSUE}/transitions", json={"transitions": [
        {"id": "11", "name": "To Do", "to": {"id": "10100", "name": "To Do"}},
        {"id": "31", "name": "Done", "to": {"id": "10102", "name": "Done"}}]})
    requests_mock.post(f"{ISSUE}/transitions", status_code=204)
    r = client.put(
        f"/api/0/organizations/acme/issues/{group_id}/", headers=s["headers"], json={"status": "resolved"}
    )
    assert r.status_code == 200, r.json


def test_resolve_transitions_the_ticket(client, installed, requests_mock, run_jobs, rsa_keys):
    s = installed
    group_id = new_issue(client, s)
    link(client, s, requests_mock, group_id)
    configure(client, s, sync_status_forward=True)
    r = client.post(f"/api/0/organizations/acme/integrations/{s['integration_id']}/external-projects/",
                    headers=s["headers"], json={"externalId": "10000", "resolvedStatus": "10102",
                                                "unresolvedStatus": "10100"})
    assert r.status_code == 201, r.json
    requests_mock.reset_mock()

    _resolve_flow(client, s, requests_mock, group_id)
    run_jobs()

    assert calls(requests_mock) == [
        ("GET", ISSUE),
        ("GET", f"{ISSUE}/transitions"),
        ("POST", f"{ISSUE}/transitions"),
    ]
    assert requests_mock.request_history[-1].json() == {"transition": {"id": "31"}}
    for request in requests_mock.request_history:
        assert_oauth1_signed(request, rsa_keys[1])
    assert_all_signed_and_valid(requests_mock.request_history, rsa_keys[1])
    assert [status for status, _ in outbox("sync_status_outbound")] == ["done"]


def test_resolve_without_mapping_is_skipped(client, installed, requests_mock, run_jobs, rsa_keys):
    s = installed
    group_id = new_issue(client, s)
    link(client, s, requests_mock, group_id)
    configure(client, s, sync_status_forward=True)
    requests_mock.reset_mock()

    _resolve_flow(client, s, requests_mock, group_id)
    run_jobs()

    assert calls(requests_mock) == [("GET", ISSUE)]
    assert [status for status, _ in outbox("sync_status_outbound")] == ["skipped"]
    assert "no mapping" in outbox("sync_status_outbound")[0][1]


def test_ticket_already_in_target_gets_no_transition(client, installed, requests_mock, run_jobs, factories):
    s = installed
    group_id = new_issue(client, s)
    link(client, s, requests_mock, group_id)
    configure(client, s, sync_status_forward=True)
    client.post(f"/api/0/organizations/acme/integrations/{s['integration_id']}/external-projects/",
                headers=s["headers"], json={"externalId": "10000", "resolvedStatus": "10102",
                                            "unresolvedStatus": "10100"})
    requests_mock.reset_mock()

    _resolve_flow(client, s, requests_mock, group_id, current_status="10102")
    run_jobs()

    assert calls(requests_mock) == [("GET", ISSUE)]


def test_assign_and_unassign_by_name(client, installed, factories, requests_mock, run_jobs, rsa_keys):
    s = installed
    factories.member(s["org"], "bob@example.org", projects=[s["project"]], name="Bob")
    group_id = new_issue(client, s)
    link(client, s, requests_mock, group_id)
    configure(client, s, sync_assignee_outbound=True)
    requests_mock.reset_mock()
    requests_mock.get(f"{BASE_URL}/rest/api/2/user/search", json=[
        {"name": "bobby", "emailAddress": "bobby@example.org"},
        {"name": "bob", "emailAddress": "Bob@Example.org", "displayName": "Bob"}])
    requests_mock.put(f"{ISSUE}/assignee", status_code=204)

    assert client.put(f"/api/0/organizations/acme/issues/{group_id}/", headers=s["headers"],
                      json={"assignedTo": "bob@example.org"}).status_code == 200
    run_jobs()
    assert client.put(f"/api/0/organizations/acme/issues/{group_id}/", headers=s["headers"],
                      json={"assignedTo": None}).status_code == 200
    run_jobs()

    search, assign, unassign = requests_mock.request_history
    assert search.method == "GET" and search.qs == {"username": ["bob@example.org"]}
    assert (assign.method, assign.url, assign.json()) == ("PUT", f"{ISSUE}/assignee", {"name": "bob"})
    assert (unassign.method, unassign.url, unassign.json()) == ("PUT", f"{ISSUE}/assignee", {"name": None})
    assert_all_signed_and_valid(requests_mock.request_history, rsa_keys[1])


def test_assign_without_jira_user_is_skipped(client, installed, factories, requests_mock, run_jobs):
    s = installed
    factories.member(s["org"], "bob@example.org", projects=[s["project"]], name="Bob")
    group_id = new_issue(client, s)
    link(client, s, requests_mock, group_id)
    configure(client, s, sync_assignee_outbound=True)
    requests_mock.reset_mock()
    requests_mock.get(f"{BASE_URL}/rest/api/2/user/search", json=[])

    client.put(f"/api/0/organizations/acme/issues/{group_id}/", headers=s["headers"],
               json={"assignedTo": "bob@example.org"})
    run_jobs()

    assert [m for m, _ in calls(requests_mock)] == ["GET"]
    assert outbox("sync_assignee_outbound")[0][0] == "skipped"
    assert "target not found" in outbox("sync_assignee_outbound")[0][1]


def test_user_search_answering_one_user_object_still_assigns(client, installed, factories, requests_mock,
                                                             run_jobs):
    # The Data Center spec documents GET /user/search as one UserBean (its mock answers that):
    # the job must read it as a list of one user, not fail on every retry.
    s = installed
    factories.member(s["org"], "bob@example.org", projects=[s["project"]], name="Bob")
    group_id = new_issue(client, s)
    link(client, s, requests_mock, group_id)
    configure(client, s, sync_assignee_outbound=True)
    requests_mock.reset_mock()
    requests_mock.get(f"{BASE_URL}/rest/api/2/user/search",
                      json={"name": "bob", "emailAddress": "bob@example.org"})
    requests_mock.put(f"{ISSUE}/assignee", status_code=204)

    client.put(f"/api/0/organizations/acme/issues/{group_id}/", headers=s["headers"],
               json={"assignedTo": "bob@example.org"})
    run_jobs()

    assert requests_mock.request_history[-1].json() == {"name": "bob"}
    assert outbox("sync_assignee_outbound")[0][0] == "done"


def test_jira_401_marks_the_integration(client, installed, requests_mock, run_jobs):
    s = installed
    group_id = new_issue(client, s)
    link(client, s, requests_mock, group_id)
    configure(client, s, sync_status_forward=True)
    requests_mock.get(ISSUE, status_code=401, json={"errorMessages": ["oauth_problem=token_rejected"]})

    client.put(
        f"/api/0/organizations/acme/issues/{group_id}/", headers=s["headers"], json={"status": "resolved"}
    )
    run_jobs()

    listed = client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json
    assert listed[0]["status"] == "needs_attention"


def test_comments_posted_and_edited_as_plain_text(client, installed, requests_mock, run_jobs, rsa_keys):
    s = installed
    group_id = new_issue(client, s)
    link(client, s, requests_mock, group_id)
    configure(client, s, sync_comments=True)
    requests_mock.reset_mock()
    requests_mock.post(f"{ISSUE}/comment", status_code=201, json={"id": "555", "body": "x"})
    requests_mock.put(f"{ISSUE}/comment/555", json={"id": "555", "body": "y"})

    r = client.post(f"/api/0/organizations/acme/issues/{group_id}/comments/", headers=s["headers"],
                    json={"text": "Looking into it"})
    assert r.status_code == 201, r.json
    run_jobs()
    assert client.put(f"/api/0/organizations/acme/issues/{group_id}/comments/{r.json['id']}/",
                      headers=s["headers"], json={"text": "Fixed in 1.2"}).status_code == 200
    run_jobs()

    post, put = requests_mock.request_history
    assert (post.method, post.url, post.json()) == (
        "POST",
        f"{ISSUE}/comment",
        {"body": "Owner wrote: Looking into it"},
    )
    assert (put.method, put.url, put.json()) == (
        "PUT",
        f"{ISSUE}/comment/555",
        {"body": "Owner wrote: Fixed in 1.2"},
    )
    assert_all_signed_and_valid(requests_mock.request_history, rsa_keys[1])
