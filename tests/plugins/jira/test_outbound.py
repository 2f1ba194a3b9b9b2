"""Outbound: link/create tickets, status, assignee and comment sync, and how Jira's errors are settled
(FLOWS §1, §6–§8). Every call to Jira is checked against the official spec and for its Connect JWT."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from hub import models as m
from hub.extensions import db
from tests.plugins.jira.conftest import CLIENT_KEY, SECRET, SITE, decode_outbound, jira_issue, link, new_issue
from tests.plugins.jira.payloads import JESS_ACCOUNT
from tests.support.specs import assert_valid_requests

ISSUE_URL = f"{SITE}/rest/api/3/issue/APP-123"
TRANSITIONS_URL = f"{ISSUE_URL}/transitions"
TRANSITIONS = {
    "transitions": [
        {"id": "11", "name": "To Do", "to": {"id": "10000", "statusCategory": {"key": "new"}}},
        {"id": "21", "name": "Start", "to": {"id": "3", "statusCategory": {"key": "indeterminate"}}},
        {"id": "31", "name": "Done", "to": {"id": "10001", "statusCategory": {"key": "done"}}},
    ]
}


def _jira_calls(requests_mock):
    calls = [h for h in requests_mock.request_history if h.url.startswith(SITE)]
    for call in calls:
        decode_outbound(call)
    if calls:
        assert assert_valid_requests("jira-cloud", calls, SITE) == len(calls)
    return [(c.method, c.url.replace(SITE, "")) for c in calls]


def _outbox(kind):
    db.session.expire_all()
    return db.session.scalars(
        select(m.OutboxEntry).where(m.OutboxEntry.kind == kind).order_by(m.OutboxEntry.date_created)
    ).all()


def _ticket():
    db.session.expire_all()
    return db.session.scalars(select(m.ExternalIssue)).one()


def _map(client, env, resolved="10001", unresolved="10000"):
    r = client.post(
        f"/api/0/organizations/acme/integrations/{env['jira'].id}/external-projects/",
        json={"externalId": "10100", "resolvedStatus": resolved, "unresolvedStatus": unresolved},
        headers=env["headers"],
    )
    assert r.status_code == 201, r.json


def _resolve(client, env, gid, status="resolved"):
    r = client.put(
        f"/api/0/organizations/acme/issues/{gid}/", json={"status": status}, headers=env["headers"]
    )
    assert r.status_code == 200, r.json


@pytest.fixture
def linked(client, env, requests_mock):
    gid = new_issue(client, env["headers"])
    link(client, env["headers"], gid, env["jira"].id, requests_mock)
    return gid


# -- link and create (FLOWS §1) ---------------------------------------------------------------


def test_link_reads_the_ticket(client, env, requests_mock):
    gid = new_issue(client, env["headers"])
    requests_mock.get(ISSUE_URL, json=jira_issue())
    r = client.post(
        f"/api/0/organizations/acme/issues/{gid}/external-issues/",
        json={"integrationId": str(env["jira"].id), "action": "link", "externalIssue": "APP-123"},
        headers=env["headers"],
    )
    assert r.status_code == 201, r.json
    assert r.json["key"] == "APP-123" and r.json["url"] == f"{SITE}/browse/APP-123"
    assert r.json["title"] == "ZeroDivisionError: division by zero"
    assert _jira_calls(requests_mock) == [("GET", "/rest/api/3/issue/APP-123")]
    again = client.post(
        f"/api/0/organizations/acme/issues/{gid}/external-issues/",
        json={"integrationId": str(env["jira"].id), "action": "link", "externalIssue": "APP-123"},
        headers=env["headers"],
    )
    assert again.status_code == 400 and again.json["detail"] == "That issue is already linked"


def test_get_external_issue_reports_status_and_project(app, env, requests_mock):
    from hub import services
    from plugins.jira import get_external_issue

    requests_mock.get(ISSUE_URL, json=jira_issue(status_id="10001", category="done"))
    integration = services.get_integration("jira", CLIENT_KEY)
    result = get_external_issue(integration=integration, key="APP-123")
    assert result["status"] == {"id": "10001", "name": "Done", "category": "done"}
    assert result["projectId"] == "10100" and result["description"] == "Boom"


def test_link_unknown_key_is_400_in_the_hubs_words(client, env, requests_mock):
    gid = new_issue(client, env["headers"])
    requests_mock.get(
        f"{SITE}/rest/api/3/issue/APP-999",
        status_code=404,
        json={
            "errorMessages": ["Issue does not exist or you do not have permission to see it."],
            "errors": {},
        },
    )
    r = client.post(
        f"/api/0/organizations/acme/issues/{gid}/external-issues/",
        json={"integrationId": str(env["jira"].id), "action": "link", "externalIssue": "APP-999"},
        headers=env["headers"],
    )
    assert r.status_code == 400
    assert r.json["detail"] == "Jira has no issue APP-999, or the integration's Jira user may not see it."
    assert db.session.scalar(select(m.ExternalIssue)) is None


def test_create_requires_project_and_issuetype(client, env, requests_mock):
    gid = new_issue(client, env["headers"])
    r = client.post(
        f"/api/0/organizations/acme/issues/{gid}/external-issues/",
        json={"integrationId": str(env["jira"].id), "action": "create", "fields": {"title": "x"}},
        headers=env["headers"],
    )
    assert r.status_code == 400 and set(r.json["errors"]) == {"project", "issuetype"}
    assert requests_mock.request_history == []


def test_create_sends_v3_fields_with_an_adf_description(client, env, requests_mock):
    gid = new_issue(client, env["headers"])
    requests_mock.post(
        f"{SITE}/rest/api/3/issue",
        status_code=201,
        json={"id": "10050", "key": "APP-124", "self": f"{SITE}/rest/api/3/issue/10050"},
    )
    r = client.post(
        f"/api/0/organizations/acme/issues/{gid}/external-issues/",
        json={
            "integrationId": str(env["jira"].id),
            "action": "create",
            "fields": {
                "project": "10100",
                "issuetype": "10004",
                "labels": "hub, backend ,",
                "assignee": JESS_ACCOUNT,
            },
        },
        headers=env["headers"],
    )
    assert r.status_code == 201, r.json
    assert r.json["key"] == "APP-124" and r.json["url"] == f"{SITE}/browse/APP-124"
    assert _jira_calls(requests_mock) == [("POST", "/rest/api/3/issue")]
    sent = requests_mock.request_history[0].json()["fields"]
    issue = client.get(f"/api/0/organizations/acme/issues/{gid}/", headers=env["headers"]).json
    assert sent["summary"] == "ZeroDivisionError: division by zero"
    assert sent["project"] == {"id": "10100"} and sent["issuetype"] == {"id": "10004"}
    assert sent["labels"] == ["hub", "backend"] and sent["assignee"] == {
        "accountId": JESS_ACCOUNT
    }
    description = sent["description"]
    assert description["type"] == "doc" and description["version"] == 1
    texts = [node["text"] for p in description["content"] for node in p.get("content", [])]
    assert texts[:2] == ["ZeroDivisionError: division by zero", "app.views.div"]
    link_node = description["content"][-1]["content"][-1]
    assert link_node["marks"] == [
        {"type": "link", "attrs": {"href": f"http://hub.test/organizations/acme/issues/{gid}/"}}
    ]
    assert r.json["title"] == issue["title"]


def test_create_refused_by_jira_is_400_per_field(client, env, requests_mock):
    gid = new_issue(client, env["headers"])
    requests_mock.post(
        f"{SITE}/rest/api/3/issue",
        status_code=400,
        json={"errorMessages": [], "errors": {"issuetype": "Specify a valid issue type"}},
    )
    r = client.post(
        f"/api/0/organizations/acme/issues/{gid}/external-issues/",
        json={
            "integrationId": str(env["jira"].id),
            "action": "create",
            "fields": {"project": "10100", "issuetype": "1"},
        },
        headers=env["headers"],
    )
    assert r.status_code == 400 and r.json["errors"] == {"issuetype": ["Jira refused this field."]}
    assert "Specify a valid issue type" not in str(r.json)  # Jira's words: for owners and admins only
    assert db.session.scalar(select(m.ExternalIssue)) is None
    [item] = client.get("/api/0/organizations/acme/integrations/", headers=env["headers"]).json
    assert "Specify a valid issue type" in item["error"]


@pytest.mark.parametrize(("status", "hint"), [(500, "a server error"), (429, "rate limited")])
def test_a_failed_create_does_not_promise_a_retry(client, env, requests_mock, status, hint):
    """Nothing retries a call made in a request: the answer tells the user to try again instead."""
    gid = new_issue(client, env["headers"])
    requests_mock.post(f"{SITE}/rest/api/3/issue", status_code=status, json={})
    r = client.post(f"/api/0/organizations/acme/issues/{gid}/external-issues/",
                    json={"integrationId": str(env["jira"].id), "action": "create",
                          "fields": {"project": "10100", "issuetype": "1"}}, headers=env["headers"])
    assert r.status_code == 400
    assert r.json["detail"] == f"Jira answered {status} ({hint}: try again later)"
    assert len(requests_mock.request_history) == 1 and db.session.scalar(select(m.ExternalIssue)) is None


def test_a_providers_error_is_cleared_once_jira_answers_again(client, env, requests_mock, run_jobs):
    """A failed create leaves Jira's words on the integration; the next call that goes through (a
    link in the API, an outbound job) clears them: they were shown for good, Jira working again."""
    gid = new_issue(client, env["headers"])
    url = f"/api/0/organizations/acme/issues/{gid}/external-issues/"
    requests_mock.post(f"{SITE}/rest/api/3/issue", status_code=500, text="<h1>Internal Server Error</h1>")
    r = client.post(url, json={"integrationId": str(env["jira"].id), "action": "create",
                               "fields": {"project": "10100", "issuetype": "1"}}, headers=env["headers"])
    assert r.status_code == 400 and "Internal Server Error" not in str(r.json)
    status, error = _integration_status(client, env)
    assert status == "active" and "Internal Server Error" in error
    requests_mock.get(ISSUE_URL, json=jira_issue())
    r = client.post(url, json={"integrationId": str(env["jira"].id), "action": "link",
                               "externalIssue": "APP-123"}, headers=env["headers"])
    assert r.status_code == 201, r.json
    assert _integration_status(client, env) == ("active", None)
    oi = db.session.scalar(select(m.OrganizationIntegration))
    oi.error = "Jira answered 500 earlier"
    db.session.commit()
    _map(client, env)
    requests_mock.get(TRANSITIONS_URL, json=TRANSITIONS)
    requests_mock.post(TRANSITIONS_URL, status_code=204)
    _resolve(client, env, gid)
    run_jobs()
    assert [e.status for e in _outbox("sync_status_outbound")] == ["done"]
    assert _integration_status(client, env) == ("active", None)


# -- status (FLOWS §6) --------------------------------------------------------------------------


def test_full_flow_resolve_transitions_the_ticket(client, factories, requests_mock, run_jobs):
    s = factories.setup()
    jira = factories.integration(
        s["org"], "jira", CLIENT_KEY, {"base_url": SITE, "shared_secret": SECRET, "client_key": CLIENT_KEY}
    )
    env = {**s, "jira": jira}
    gid = new_issue(client, s["headers"])
    link(client, s["headers"], gid, jira.id, requests_mock)
    r = client.put(
        f"/api/0/organizations/acme/integrations/{jira.id}/",
        json={"config": {"sync_status_forward": True}},
        headers=s["headers"],
    )
    assert r.status_code == 200 and r.json["config"]["sync_status_forward"] is True
    _map(client, env)
    requests_mock.get(ISSUE_URL, json=jira_issue())
    requests_mock.get(TRANSITIONS_URL, json=TRANSITIONS)
    requests_mock.post(TRANSITIONS_URL, status_code=204)
    _resolve(client, env, gid)
    run_jobs()
    assert _jira_calls(requests_mock) == [
        ("GET", "/rest/api/3/issue/APP-123"),
        ("GET", "/rest/api/3/issue/APP-123/transitions"),
        ("POST", "/rest/api/3/issue/APP-123/transitions"),
    ]
    assert requests_mock.request_history[-1].json() == {"transition": {"id": "31"}}
    [entry] = _outbox("sync_status_outbound")
    assert entry.status == "done"


def test_already_in_target_status_is_skipped(client, env, linked, requests_mock, run_jobs):
    _map(client, env)
    requests_mock.get(ISSUE_URL, json=jira_issue(status_id="10001", category="done"))
    _resolve(client, env, linked)
    run_jobs()
    assert _jira_calls(requests_mock) == [("GET", "/rest/api/3/issue/APP-123")]
    [entry] = _outbox("sync_status_outbound")
    assert (entry.status, entry.outcome) == ("skipped", "already in target status")


def test_no_mapping_is_skipped(client, env, linked, requests_mock, run_jobs):
    requests_mock.get(ISSUE_URL, json=jira_issue())
    _resolve(client, env, linked)
    run_jobs()
    assert _jira_calls(requests_mock) == [("GET", "/rest/api/3/issue/APP-123")]
    [entry] = _outbox("sync_status_outbound")
    assert (entry.status, entry.outcome) == ("skipped", "no mapping")
    # nothing was sent, so no echo is coming: Jira's next real move to Done is the user's and applies
    assert _ticket().expected_echoes == {"status": []}


def test_missing_transition_is_skipped_visibly(client, env, linked, requests_mock, run_jobs):
    _map(client, env)
    requests_mock.get(ISSUE_URL, json=jira_issue())
    requests_mock.get(TRANSITIONS_URL, json={"transitions": [TRANSITIONS["transitions"][0]]})
    _resolve(client, env, linked)
    run_jobs()
    assert _jira_calls(requests_mock) == [
        ("GET", "/rest/api/3/issue/APP-123"),
        ("GET", "/rest/api/3/issue/APP-123/transitions"),
    ]
    [entry] = _outbox("sync_status_outbound")
    assert (entry.status, entry.outcome) == ("skipped", "no transition")


def test_transition_path_through_in_progress(client, env, linked, requests_mock, run_jobs):
    _map(client, env)
    requests_mock.get(ISSUE_URL, json=jira_issue())
    todo, start, done = TRANSITIONS["transitions"]
    requests_mock.get(
        TRANSITIONS_URL, [{"json": {"transitions": [start]}}, {"json": {"transitions": [todo, done]}}]
    )
    requests_mock.post(TRANSITIONS_URL, status_code=204)
    _resolve(client, env, linked)
    run_jobs()
    assert _jira_calls(requests_mock) == [
        ("GET", "/rest/api/3/issue/APP-123"),
        ("GET", "/rest/api/3/issue/APP-123/transitions"),
        ("POST", "/rest/api/3/issue/APP-123/transitions"),
        ("GET", "/rest/api/3/issue/APP-123/transitions"),
        ("POST", "/rest/api/3/issue/APP-123/transitions"),
    ]
    posted = [h.json() for h in requests_mock.request_history if h.method == "POST"]
    assert posted == [{"transition": {"id": "21"}}, {"transition": {"id": "31"}}]
    assert _outbox("sync_status_outbound")[0].status == "done"


def test_unresolve_moves_back_to_the_unresolved_status(client, env, linked, requests_mock, run_jobs):
    _map(client, env)
    requests_mock.get(ISSUE_URL, json=jira_issue(status_id="10001", category="done"))
    requests_mock.get(TRANSITIONS_URL, json=TRANSITIONS)
    requests_mock.post(TRANSITIONS_URL, status_code=204)
    _resolve(client, env, linked)  # already done in Jira: skipped
    _resolve(client, env, linked, "unresolved")
    run_jobs()
    assert requests_mock.request_history[-1].json() == {"transition": {"id": "11"}}
    assert [e.status for e in _outbox("sync_status_outbound")] == ["skipped", "done"]


def test_forward_sync_off_sends_nothing(client, env, linked, requests_mock, run_jobs):
    client.put(
        f"/api/0/organizations/acme/integrations/{env['jira'].id}/",
        json={"config": {"sync_status_forward": False}},
        headers=env["headers"],
    )
    _resolve(client, env, linked)
    run_jobs()
    assert requests_mock.request_history == [] and _outbox("sync_status_outbound") == []


# -- Jira's errors ------------------------------------------------------------------------------


def _integration_status(client, env):
    [item] = client.get("/api/0/organizations/acme/integrations/", headers=env["headers"]).json
    return item["status"], item["error"]


def test_jira_400_fails_the_job(client, env, linked, requests_mock, run_jobs):
    _map(client, env)
    requests_mock.get(ISSUE_URL, json=jira_issue())
    requests_mock.get(TRANSITIONS_URL, json=TRANSITIONS)
    requests_mock.post(
        TRANSITIONS_URL, status_code=400, json={"errorMessages": ["Field 'resolution' is required"]}
    )
    _resolve(client, env, linked)
    run_jobs()
    [entry] = _outbox("sync_status_outbound")
    assert entry.status == "failed" and "resolution" in entry.last_error
    assert _integration_status(client, env) == ("active", None)


def test_jira_401_marks_the_integration_needs_attention(client, env, linked, requests_mock, run_jobs):
    _map(client, env)
    requests_mock.get(ISSUE_URL, status_code=401, json={"errorMessages": ["Unauthorized"]})
    _resolve(client, env, linked)
    run_jobs()
    [entry] = _outbox("sync_status_outbound")
    assert entry.status == "failed" and entry.attempts == 1
    status, error = _integration_status(client, env)
    assert status == "needs_attention" and "Unauthorized" in error


def test_jira_404_fails_without_retry(client, env, linked, requests_mock, run_jobs):
    requests_mock.get(ISSUE_URL, status_code=404, json={"errorMessages": ["Issue does not exist"]})
    _resolve(client, env, linked)
    run_jobs(now=True)
    [entry] = _outbox("sync_status_outbound")
    assert (entry.status, entry.attempts) == ("failed", 1)


def test_jira_429_is_retried_after_retry_after(client, env, linked, requests_mock, run_jobs):
    _map(client, env)
    requests_mock.get(
        ISSUE_URL, [{"status_code": 429, "headers": {"Retry-After": "120"}}, {"json": jira_issue()}]
    )
    requests_mock.get(TRANSITIONS_URL, json=TRANSITIONS)
    requests_mock.post(TRANSITIONS_URL, status_code=204)
    _resolve(client, env, linked)
    run_jobs()
    [entry] = _outbox("sync_status_outbound")
    assert entry.status == "pending" and "rate limited" in entry.last_error
    wait = entry.next_attempt_at.replace(tzinfo=dt.UTC) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(seconds=100) < wait <= dt.timedelta(seconds=120)
    run_jobs(now=True)
    [entry] = _outbox("sync_status_outbound")
    assert entry.status == "done" and requests_mock.request_history[-1].json() == {"transition": {"id": "31"}}


def test_jira_503_is_retried_with_backoff(client, env, linked, requests_mock, run_jobs):
    _map(client, env)
    requests_mock.get(ISSUE_URL, status_code=503, text="Service Unavailable")
    _resolve(client, env, linked)
    run_jobs()
    [entry] = _outbox("sync_status_outbound")
    assert entry.status == "pending" and entry.attempts == 1 and "503" in entry.last_error


# -- assignee (FLOWS §7) ------------------------------------------------------------------------


def _assign(client, env, gid, who):
    r = client.put(
        f"/api/0/organizations/acme/issues/{gid}/", json={"assignedTo": who}, headers=env["headers"]
    )
    assert r.status_code == 200, r.json


def test_assign_and_unassign_outbound(client, env, linked, requests_mock, run_jobs):
    requests_mock.get(
        f"{SITE}/rest/api/3/user/search",
        json=[
            {"accountId": "other", "emailAddress": "jess@elsewhere.com"},
            {"accountId": JESS_ACCOUNT, "emailAddress": "JESS@example.com"},
        ],
    )
    requests_mock.put(f"{ISSUE_URL}/assignee", status_code=204)
    _assign(client, env, linked, "jess@example.com")
    assert _ticket().synced_assignee_id is None  # queued, not sent: the ticket does not say Jess yet
    run_jobs()
    assert _ticket().synced_assignee_id == env["jess"].id
    _assign(client, env, linked, None)
    run_jobs()
    assert _ticket().synced_assignee_id is None
    assert _jira_calls(requests_mock) == [
        ("GET", "/rest/api/3/user/search?query=jess%40example.com"),
        ("PUT", "/rest/api/3/issue/APP-123/assignee"),
        ("PUT", "/rest/api/3/issue/APP-123/assignee"),
    ]
    bodies = [h.json() for h in requests_mock.request_history if h.method == "PUT"]
    assert bodies == [{"accountId": JESS_ACCOUNT}, {"accountId": None}]
    assert [e.status for e in _outbox("sync_assignee_outbound")] == ["done", "done"]


def test_assign_to_a_user_whose_email_jira_hides(client, env, linked, requests_mock, run_jobs):
    requests_mock.get(f"{SITE}/rest/api/3/user/search", json=[{"accountId": JESS_ACCOUNT}])
    requests_mock.get(
        f"{SITE}/rest/api/3/user/email",
        json={"accountId": JESS_ACCOUNT, "email": "jess@example.com"},
    )
    requests_mock.put(f"{ISSUE_URL}/assignee", status_code=204)
    _assign(client, env, linked, "jess@example.com")
    run_jobs()
    assert _jira_calls(requests_mock) == [
        ("GET", "/rest/api/3/user/search?query=jess%40example.com"),
        ("GET", "/rest/api/3/user/email?accountId=712020%3A3f9c2a61-5b8e-4d07-9a1e-2c6b8f0d4e71"),
        ("PUT", "/rest/api/3/issue/APP-123/assignee"),
    ]


def test_assignee_not_in_jira_is_skipped(client, env, linked, requests_mock, run_jobs):
    requests_mock.get(
        f"{SITE}/rest/api/3/user/search", json=[{"accountId": "x", "emailAddress": "x@example.com"}]
    )
    _assign(client, env, linked, "jess@example.com")
    run_jobs()
    [entry] = _outbox("sync_assignee_outbound")
    assert (entry.status, entry.outcome) == ("skipped", "target not found")
    ticket = _ticket()
    assert (ticket.expected_echoes, ticket.synced_assignee_id) == ({"assignee": []}, None)
    assert [c[0] for c in _jira_calls(requests_mock)] == ["GET"]


def test_a_skipped_assign_withdraws_its_note_even_when_the_users_email_changed_meanwhile(
        client, env, linked, requests_mock, run_jobs):
    requests_mock.get(f"{SITE}/rest/api/3/user/search", json=[])
    _assign(client, env, linked, "jess@example.com")
    env["jess"].email = "jess.new@example.com"  # changed between the queueing and the job
    db.session.commit()
    run_jobs()
    [entry] = _outbox("sync_assignee_outbound")
    assert entry.status == "skipped"
    assert _ticket().expected_echoes == {"assignee": []}


# -- comments (FLOWS §8) ------------------------------------------------------------------------


def test_note_is_posted_then_edited(client, env, linked, requests_mock, run_jobs):
    requests_mock.post(f"{ISSUE_URL}/comment", status_code=201, json={"id": "10200"})
    requests_mock.put(f"{ISSUE_URL}/comment/10200", json={"id": "10200"})
    r = client.post(
        f"/api/0/organizations/acme/issues/{linked}/comments/",
        json={"text": "Looking into it"},
        headers=env["headers"],
    )
    assert r.status_code == 201
    run_jobs()
    r = client.put(
        f"/api/0/organizations/acme/issues/{linked}/comments/{r.json['id']}/",
        json={"text": "Fixed"},
        headers=env["headers"],
    )
    assert r.status_code == 200, r.json
    run_jobs()
    assert _jira_calls(requests_mock) == [
        ("POST", "/rest/api/3/issue/APP-123/comment"),
        ("PUT", "/rest/api/3/issue/APP-123/comment/10200"),
    ]
    first, second = (h.json()["body"] for h in requests_mock.request_history)
    assert first == {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Owner wrote: Looking into it"}]}
        ],
    }
    assert second["content"][0]["content"][0]["text"] == "Owner wrote: Fixed"


def test_reconcile_uses_the_tickets_status(client, env, linked, requests_mock, run_jobs):
    from hub.reconcile import reconcile

    requests_mock.get(ISSUE_URL, json=jira_issue(status_id="10001", category="done"))
    lines = list(reconcile("acme", dry_run=False))
    assert lines[0].endswith("<- APP-123 (Done): resolved") and "1 drifted" in lines[-1]
    issue = client.get(f"/api/0/organizations/acme/issues/{linked}/", headers=env["headers"]).json
    assert issue["status"] == "resolved"
    run_jobs()
    assert _jira_calls(requests_mock) == [("GET", "/rest/api/3/issue/APP-123")]  # nothing echoed back
