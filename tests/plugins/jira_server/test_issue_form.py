"""The issue page's create-ticket form, loaded from Jira Server through the get_issue_form hook."""

from __future__ import annotations

from hub.testing import csrf_token
from tests.plugins.jira_server.conftest import BASE_URL, assert_all_signed_and_valid, new_issue


def test_the_create_form_loads_projects_and_types_and_creates_the_ticket(
    client, installed, requests_mock, rsa_keys
):
    s = installed
    group_id = new_issue(client, s)
    requests_mock.get(
        f"{BASE_URL}/rest/api/2/project", json=[{"id": "10000", "key": "APP", "name": "Application"}]
    )
    requests_mock.get(
        f"{BASE_URL}/rest/api/2/issuetype",
        json=[
            {"id": "10004", "name": "Bug", "subtask": False},
            {"id": "10005", "name": "Sub-task", "subtask": True},
        ],
    )
    with client.session_transaction() as session:
        session["user_id"] = s["owner"].id
    url = f"/organizations/acme/issues/{group_id}/"
    page = client.get(url, query_string={"create": "1"}).get_data(as_text=True)
    assert '<option value="10000" >Application (APP)</option>' in page.replace("  ", " ")
    assert ">Bug</option>" in page and "Sub-task" not in page
    assert 'value="KeyError: &#39;user&#39;"' in page  # the summary, prefilled
    assert_all_signed_and_valid(requests_mock.request_history, rsa_keys[1])

    requests_mock.post(
        f"{BASE_URL}/rest/api/2/issue",
        status_code=201,
        json={"id": "10300", "key": "APP-7", "self": f"{BASE_URL}/rest/api/2/issue/10300"},
    )
    token = csrf_token(client)
    missing = client.post(
        url,
        data={
            "action": "create",
            "integrationId": s["integration_id"],
            "field.title": "Profile crashes",
            "csrf_token": token,
        },
    )
    assert missing.status_code == 400
    assert 'value="Profile crashes"' in missing.get_data(as_text=True)  # what was typed is kept
    r = client.post(
        url,
        data={
            "action": "create",
            "integrationId": s["integration_id"],
            "field.project": "10000",
            "field.issuetype": "10004",
            "field.title": "Profile crashes",
            "csrf_token": token,
        },
    )
    assert r.status_code == 302
    sent = requests_mock.request_history[-1].json()["fields"]
    assert sent["summary"] == "Profile crashes" and sent["project"] == {"id": "10000"}
    page = client.get(url).get_data(as_text=True)
    assert "created Jira Server ticket APP-7" in page


def test_a_jira_that_cannot_answer_leaves_the_page_usable(client, installed, requests_mock):
    s = installed
    group_id = new_issue(client, s)
    requests_mock.get(f"{BASE_URL}/rest/api/2/project", status_code=503, text="<html>down</html>")
    with client.session_transaction() as session:
        session["user_id"] = s["owner"].id
    r = client.get(f"/organizations/acme/issues/{group_id}/", query_string={"create": "1"})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "could not be asked for its projects" in page and "<html>down" not in page
    assert 'name="externalIssue"' in page  # linking by key still works
