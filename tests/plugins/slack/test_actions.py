"""Slack group actions: buttons, the assignee select and dialogs, as a linked org member."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qs

import pytest
import requests

from hub import services
from tests.plugins.slack.helpers import (
    API,
    BOT_TOKEN,
    RESPONSE_URL,
    SLACK_USER,
    activities,
    block_actions,
    form_body,
    issue,
    load,
    select_action,
)
from tests.plugins.slack.payloads import ALERT_TS, CHANNEL, TEAM
from tests.support.specs import assert_valid_requests


def _link(factories, env, user=None):
    factories.identity(env["integration"], SLACK_USER, user or env["jess"])


def _response_posts(requests_mock):
    return [r for r in requests_mock.request_history if r.url == RESPONSE_URL]


def test_resolve_button_resolves_and_updates_the_message(
    client, env, factories, slack, requests_mock, run_jobs
):
    _link(factories, env)
    requests_mock.post(RESPONSE_URL, text="ok")
    r = slack.action(block_actions(env["group_id"]))
    assert r.status_code == 200
    assert r.data == b""
    assert _response_posts(requests_mock) == []  # the answer first; the redraw is a job
    data = issue(client, env, env["group_id"])
    assert data["status"] == "resolved"
    latest = activities(client, env, env["group_id"])[0]
    assert latest["type"] == "set_resolved"
    assert latest["user"]["email"] == "jess@example.com"
    assert latest["data"]["integration"] == "slack"
    assert latest["data"]["integration_id"] == env["integration_id"]

    run_jobs()
    (update,) = _response_posts(requests_mock)
    body = update.json()
    assert body["replace_original"] is True
    assert body["text"] == f"[backend] {env['short_id']}: ZeroDivisionError: division by zero"
    assert json.loads(body["blocks"][0]["block_id"]) == {"issue": int(env["group_id"]), "rule": 7}
    outcome = next(b for b in body["blocks"] if b["block_id"] == "outcome")
    assert outcome["elements"][0]["text"] == f"Issue resolved by <@{SLACK_USER}>"
    buttons = next(b for b in body["blocks"] if b["type"] == "actions")["elements"]
    assert [(e["action_id"], e.get("value"), e["text"]["text"]) for e in buttons[:2]] == [
        ("status", "unresolved", "Unresolve"),
        ("archive_dialog", "archive_dialog", "Archive"),
    ]
    assert "Authorization" not in update.headers  # the bot token never goes to response_url hosts


def test_unlinked_user_gets_a_link_prompt_and_nothing_changes(client, env, slack, requests_mock):
    r = slack.action(block_actions(env["group_id"]))
    assert r.status_code == 200
    assert r.json["response_type"] == "ephemeral"
    assert r.json["replace_original"] is False
    assert re.search(
        r"<http://hub\.test/extensions/slack/link-identity/[^/|>]+/\|Link identity>", r.json["text"]
    )
    assert issue(client, env, env["group_id"])["status"] == "unresolved"
    assert [a["type"] for a in activities(client, env, env["group_id"])] == ["first_seen"]
    assert requests_mock.request_history == []


def test_link_page_then_the_action_works(client, env, slack, requests_mock, run_jobs):
    requests_mock.post(RESPONSE_URL, text="ok")
    prompt = slack.action(block_actions(env["group_id"])).json["text"]
    path = re.search(r"<http://hub\.test(/extensions/slack/link-identity/[^|>]+)\|", prompt).group(1)

    # not logged in: a page asking to log in (a browser), or 401 JSON (an API client)
    r = client.get(path)
    assert r.status_code == 401
    assert b"/login?next=%2Fextensions%2Fslack%2Flink-identity%2F" in r.data
    assert client.post(path, headers={"Accept": "application/json"}).status_code == 401

    with client.session_transaction() as session:
        session["user_id"] = int(env["jess_id"])
    r = client.get(path)
    assert r.status_code == 200
    page = r.data.decode()
    assert (
        f"Link the Slack account &lt;@{SLACK_USER}&gt; of Acme Slack to your account jess@example.com?"
        in page
    )
    forged = client.post(path, data={}, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 400  # another site cannot post it for the logged-in user (the core's check)
    assert services.get_identity(env["integration_id"], SLACK_USER) is None
    assert client.post(path, data={}).status_code == 400  # no CSRF token
    assert services.get_identity(env["integration_id"], SLACK_USER) is None
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post(path, data={"csrf_token": csrf})
    assert r.status_code == 200
    assert b"Your Slack identity is now linked to jess@example.com" in r.data
    (notice,) = _response_posts(requests_mock)
    assert notice.json() == {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": "Your Slack identity is now linked to jess@example.com. Try your action again.",
    }

    with client.session_transaction() as session:
        session.clear()
    again = block_actions(env["group_id"], action={"action_ts": "1795170640.000001"})  # a new click
    r = slack.action(again)
    assert r.status_code == 200
    assert issue(client, env, env["group_id"])["status"] == "resolved"
    run_jobs()
    assert len(_response_posts(requests_mock)) == 2  # the notice, then the redraw
    assert activities(client, env, env["group_id"])[0]["user"]["email"] == "jess@example.com"


def test_the_same_click_signed_anew_is_a_new_delivery_and_a_retry_of_one_is_not(
        client, env, factories, slack, requests_mock):
    """Once per body *and signature*: the user clicks Resolve unlinked, links, and Slack sends the
    very same body again signed anew: that acts. The same request sent twice acts once."""
    requests_mock.post(RESPONSE_URL, text="ok")
    body = form_body(block_actions(env["group_id"]))
    now = int(time.time())
    assert slack.post("action/", body, timestamp=now).json["response_type"] == "ephemeral"  # link first
    _link(factories, env)
    assert slack.post("action/", body, timestamp=now).status_code == 200  # a retry of the first: nothing
    assert issue(client, env, env["group_id"])["status"] == "unresolved"
    assert slack.post("action/", body, timestamp=now + 2).status_code == 200  # signed anew: acts
    assert issue(client, env, env["group_id"])["status"] == "resolved"


def test_link_by_bearer_token(client, env, factories, slack):
    prompt = slack.action(block_actions(env["group_id"])).json["text"]
    path = re.search(r"<http://hub\.test(/extensions/slack/link-identity/[^|>]+)\|", prompt).group(1)
    r = client.post(path, headers=env["headers"])
    assert r.status_code == 200
    assert r.json["linked"] is True
    assert r.json["user"]["email"] == "owner@example.com"


def test_forged_link_token_is_refused(client, env):
    r = client.post("/extensions/slack/link-identity/not-a-token/", headers=env["headers"])
    assert r.status_code == 400
    assert r.json["detail"] == "This link is not valid."


def test_linked_user_outside_the_org_gets_an_unlink_link(client, env, factories, slack, requests_mock):
    other = factories.org("globex")
    outsider = factories.member(other, "eve@globex.test", role="owner")
    _link(factories, env, outsider)
    r = slack.action(block_actions(env["group_id"]))
    assert r.status_code == 200
    assert r.json["response_type"] == "ephemeral"
    assert "not a member of this issue's organization" in r.json["text"]
    assert "/extensions/slack/unlink-identity/" in r.json["text"]
    assert issue(client, env, env["group_id"])["status"] == "unresolved"
    assert requests_mock.request_history == []


def test_issue_of_another_org_is_403(client, env, factories, slack):
    other = factories.org("globex")
    project = factories.project(other, "web")
    owner = factories.member(other, "eve@globex.test", role="owner", projects=[project])
    foreign = factories.group(project, "Globex boom")
    foreign_id = foreign.id
    _link(factories, env)
    r = slack.action(block_actions(foreign_id))
    assert r.status_code == 403
    assert r.json["detail"] == "This issue does not belong to an organization that uses this Slack workspace."
    token = factories.token(owner)
    r = client.get(
        f"/api/0/organizations/globex/issues/{foreign_id}/", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.json["status"] == "unresolved"


def test_action_that_is_not_ours_is_400(client, env, factories, slack):
    _link(factories, env)
    r = slack.action(block_actions(env["group_id"], action={"value": "deleted"}))
    assert r.status_code == 400
    assert r.json["detail"] == "Unknown action."
    r = slack.action(block_actions(env["group_id"], action=select_action("team:3")))
    assert r.status_code == 400
    assert issue(client, env, env["group_id"])["status"] == "unresolved"
    assert issue(client, env, env["group_id"])["assignedTo"] is None


def test_message_without_issue_is_400(env, factories, slack):
    _link(factories, env)
    payload = block_actions(env["group_id"])
    payload["message"]["blocks"][0]["block_id"] = "title"
    r = slack.action(payload)
    assert r.status_code == 400
    assert r.json["detail"] == "The message does not name an issue."


def test_assign_select_assigns_and_says_who(client, env, factories, slack, requests_mock, run_jobs):
    _link(factories, env)
    requests_mock.post(RESPONSE_URL, text="ok")
    r = slack.action(block_actions(env["group_id"], action=select_action(f"user:{env['owner_id']}")))
    assert r.status_code == 200
    assert issue(client, env, env["group_id"])["assignedTo"]["email"] == "owner@example.com"
    latest = activities(client, env, env["group_id"])[0]
    assert (latest["type"], latest["data"]["integration"]) == ("assigned", "slack")
    run_jobs()
    body = _response_posts(requests_mock)[0].json()
    outcome = next(b for b in body["blocks"] if b["block_id"] == "outcome")
    assert outcome["elements"][0]["text"] == f"Issue assigned to Owner by <@{SLACK_USER}>"
    select = next(b for b in body["blocks"] if b["type"] == "actions")["elements"][2]
    assert select["initial_option"]["value"] == f"user:{env['owner_id']}"
    assert select["options"][-1]["value"] == "none"

    r = slack.action(block_actions(env["group_id"], action=select_action("none")))
    assert r.status_code == 200
    assert issue(client, env, env["group_id"])["assignedTo"] is None
    run_jobs()
    body = _response_posts(requests_mock)[1].json()
    assert next(b for b in body["blocks"] if b["block_id"] == "outcome")["elements"][0]["text"] == (
        f"Issue unassigned by <@{SLACK_USER}>"
    )


def test_assigning_someone_outside_the_project_is_refused(client, env, factories, slack, requests_mock):
    _link(factories, env)
    stranger = factories.member(env["org"], "new@example.com", role="member", projects=[])
    r = slack.action(block_actions(env["group_id"], action=select_action(f"user:{stranger.id}")))
    assert r.status_code == 200
    assert r.json["text"] == "That user cannot be assigned to this issue."
    assert issue(client, env, env["group_id"])["assignedTo"] is None
    assert requests_mock.request_history == []


def test_archive_dialog_opens_a_modal_then_the_submission_archives(
    client, env, factories, slack, requests_mock, run_jobs
):
    _link(factories, env)
    requests_mock.post(f"{API}/views.open", json={"ok": True, "view": {"id": "V0001"}})
    requests_mock.post(RESPONSE_URL, text="ok")
    r = slack.action(
        block_actions(env["group_id"], action={"action_id": "archive_dialog", "value": "archive_dialog"})
    )
    assert r.status_code == 200
    assert r.data == b""
    assert issue(client, env, env["group_id"])["status"] == "unresolved"  # nothing until submitted
    (opened,) = requests_mock.request_history
    # Form-encoded, ``view`` a JSON-encoded string: what the official spec of views.open accepts.
    assert opened.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert opened.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    form = parse_qs(opened.text)
    assert form["trigger_id"] == ["7391846251043.6620917734.b1d5c09e7a3f42e6d8c1"]
    sent = {"view": json.loads(form["view"][0])}
    assert sent["view"]["callback_id"] == "archive_dialog"
    assert json.loads(sent["view"]["private_metadata"]) == {
        "issue": int(env["group_id"]),
        "orig_response_url": RESPONSE_URL,
        "channel_id": "C07ONCALL",
        "dialog": "archive_dialog",
        "rule": "7",
        "message_ts": "1795170600.004200",
    }
    assert assert_valid_requests("slack", requests_mock.request_history, API) == 1

    submission = load("view_submission_resolve")
    submission["view"]["callback_id"] = "archive_dialog"
    submission["view"]["private_metadata"] = sent["view"]["private_metadata"]
    submission["view"]["state"]["values"] = {
        "archive_type": {
            "archive_type": {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "Forever"}, "value": "ignored"},
            }
        }
    }
    r = slack.action(submission)
    assert r.status_code == 200
    assert r.data == b""
    assert issue(client, env, env["group_id"])["status"] == "ignored"
    latest = activities(client, env, env["group_id"])[0]
    assert (latest["type"], latest["data"]["integration"]) == ("set_ignored", "slack")
    run_jobs()
    body = _response_posts(requests_mock)[0].json()
    assert next(b for b in body["blocks"] if b["block_id"] == "outcome")["elements"][0]["text"] == (
        f"Issue archived by <@{SLACK_USER}>"
    )


def test_resolve_submission_in_the_next_release(client, env, factories, slack, requests_mock):
    _link(factories, env)
    requests_mock.post(RESPONSE_URL, text="ok")
    submission = load("view_submission_resolve")
    meta = json.loads(submission["view"]["private_metadata"])
    submission["view"]["private_metadata"] = json.dumps({**meta, "issue": int(env["group_id"])})
    submission["view"]["state"]["values"]["resolve_type"]["resolve_type"]["selected_option"]["value"] = (
        "resolved:inNextRelease"
    )
    r = slack.action(submission)
    assert r.status_code == 200
    data = issue(client, env, env["group_id"])
    assert (data["status"], data["statusDetails"]) == ("resolved", {"inNextRelease": True})


@pytest.mark.parametrize("callback_id", [None, ""])
def test_a_submission_without_our_callback_id_is_known_by_its_choice(
    client, env, factories, slack, requests_mock, callback_id
):
    """A modal built elsewhere (Sentry's own resolve modal): no callback id, the select under block and
    action ids Slack made up. The chosen option says which dialog it was; the metadata names the issue."""
    _link(factories, env)
    requests_mock.post(RESPONSE_URL, text="ok")
    submission = load("view_submission_resolve")
    meta = json.loads(submission["view"]["private_metadata"])
    submission["view"]["private_metadata"] = json.dumps({**meta, "issue": int(env["group_id"])})
    if callback_id is None:
        del submission["view"]["callback_id"]
    else:
        submission["view"]["callback_id"] = callback_id
    option = {"text": {"type": "plain_text", "text": "In the next release"},
              "value": "resolved:inNextRelease"}
    submission["view"]["state"]["values"] = {"x9Q+": {"static_select-action": {
        "type": "static_select", "selected_option": option}}}
    r = slack.action(submission)
    assert r.status_code == 200 and r.data == b""
    data = issue(client, env, env["group_id"])
    assert (data["status"], data["statusDetails"]) == ("resolved", {"inNextRelease": True})

    submission["view"]["callback_id"] = "somebody_elses_dialog"  # a view of another app's: not ours
    r = slack.action(submission)
    assert r.status_code == 400 and r.json["errors"] == {"callback_id": ["Not a dialog of ours."]}


def test_submission_without_a_choice_answers_errors(client, env, factories, slack, requests_mock):
    _link(factories, env)
    submission = load("view_submission_resolve")
    meta = json.loads(submission["view"]["private_metadata"])
    submission["view"]["private_metadata"] = json.dumps({**meta, "issue": int(env["group_id"])})
    submission["view"]["state"]["values"] = {}
    r = slack.action(submission)
    assert r.status_code == 200
    assert r.json == {"response_action": "errors", "errors": {"resolve_type": "Choose an option."}}
    assert issue(client, env, env["group_id"])["status"] == "unresolved"
    assert requests_mock.request_history == []


def test_slack_api_error_on_open_becomes_an_ephemeral_message(client, env, factories, slack, requests_mock):
    _link(factories, env)
    requests_mock.post(f"{API}/views.open", json={"ok": False, "error": "expired_trigger_id"})
    r = slack.action(
        block_actions(env["group_id"], action={"action_id": "resolve_dialog", "value": "resolve_dialog"})
    )
    assert r.status_code == 200
    assert r.json == {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": "Slack could not open the dialog (slack: expired_trigger_id).",
    }
    assert issue(client, env, env["group_id"])["status"] == "unresolved"


def test_legacy_interactive_message_button(client, env, factories, slack, requests_mock, run_jobs):
    _link(factories, env)
    requests_mock.post(RESPONSE_URL, text="ok")
    payload = {
        "type": "interactive_message",
        "callback_id": json.dumps({"issue": int(env["group_id"])}),
        "team": {"id": "T07HB2Q4Z", "domain": "acme"},
        "user": {"id": SLACK_USER, "name": "jess"},
        "channel": {"id": "C07ONCALL", "name": "alerts"},
        "action_ts": "1795170612.558301",
        "message_ts": "1795170600.004200",
        "attachment_id": "1",
        "token": "hub-tests-legacy-verification",
        "actions": [{"name": "status", "type": "button", "value": "resolved"}],
        "original_message": {"text": "", "attachments": [{"callback_id": "x", "text": "ZeroDivisionError"}]},
        "response_url": RESPONSE_URL,
        "trigger_id": "1.2.3",
    }
    r = slack.action(payload)
    assert r.status_code == 200
    assert issue(client, env, env["group_id"])["status"] == "resolved"
    run_jobs()
    assert _response_posts(requests_mock)[0].json()["replace_original"] is True


def test_legacy_dialog_submission(client, env, factories, slack, requests_mock):
    _link(factories, env)
    requests_mock.post(RESPONSE_URL, text="ok")
    payload = {
        "type": "dialog_submission",
        "token": "legacy",
        "action_ts": "1.2",
        "team": {"id": "T07HB2Q4Z"},
        "user": {"id": SLACK_USER},
        "channel": {"id": "C07ONCALL"},
        "callback_id": json.dumps(
            {"issue": int(env["group_id"]), "dialog": "resolve_dialog", "orig_response_url": RESPONSE_URL}
        ),
        "submission": {"resolve_type": "resolved"},
        "response_url": RESPONSE_URL,
    }
    r = slack.action(payload)
    assert r.status_code == 200
    assert issue(client, env, env["group_id"])["status"] == "resolved"
    payload["submission"] = {}
    r = slack.action(payload)
    assert r.json == {"errors": [{"name": "resolve_type", "error": "Choose an option."}]}


@pytest.mark.parametrize("response_url", [
    "https://attacker.example/collect",  # a foreign host
    "https://127.0.0.1:8443\\@hooks.slack.com/actions/T0001/1/abc",  # requests connects to 127.0.0.1
    "http://hooks.slack.com/actions/T0001/1/abc",  # Slack's host, but not https
    "https://user@hooks.slack.com/actions/T0001/1/abc",  # Slack never sends credentials
    "https://hooks.slack.com.attacker.example/actions/T0001/1/abc",
])
def test_response_url_that_is_not_slack_is_never_called_and_chat_update_redraws(
    client, env, factories, slack, requests_mock, run_jobs, response_url
):
    _link(factories, env)
    updated = {"ok": True, "channel": CHANNEL, "ts": ALERT_TS}
    requests_mock.post(f"{API}/chat.update", json=updated)
    payload = block_actions(env["group_id"])
    payload["response_url"] = response_url
    r = slack.action(payload)
    assert r.status_code == 200 and r.data == b""
    assert issue(client, env, env["group_id"])["status"] == "resolved"
    run_jobs()
    assert [x.url for x in requests_mock.request_history] == [f"{API}/chat.update"]
    body = requests_mock.request_history[0].json()
    assert (body["channel"], body["ts"]) == (CHANNEL, ALERT_TS)
    outcome = next(b for b in body["blocks"] if b["block_id"] == "outcome")
    assert outcome["elements"][0]["text"] == f"Issue resolved by <@{SLACK_USER}>"


def test_refused_response_url_without_the_alert_message_updates_nothing_and_the_job_says_so(
    client, env, factories, slack, requests_mock, run_jobs, outbox_entries
):
    _link(factories, env)
    payload = block_actions(env["group_id"])
    payload["response_url"] = "https://attacker.example/collect"
    del payload["container"]["message_ts"], payload["message"]["ts"]
    r = slack.action(payload)
    assert r.status_code == 200 and r.data == b""
    assert issue(client, env, env["group_id"])["status"] == "resolved"
    run_jobs(now=True)
    assert requests_mock.request_history == []
    (redraw,) = outbox_entries("run_task")
    assert redraw["status"] == "failed"
    assert "response_url is not a Slack URL" in (redraw["last_error"] or "")


@pytest.mark.parametrize("url, allowed", [
    ("https://hooks.slack.com/actions/T0001/1/abc", True),
    ("https://slack.com/api/x", True),
    ("https://hooks.slack-gov.com/actions/T0001/1/abc", True),
    ("https://HOOKS.Slack.com./actions/T0001/1/abc", True),
    ("http://hooks.slack-gov.com/actions/T0001/1/abc", False),
    ("https://hooks.slack.com:8443/actions/T0001/1/abc", False),
    ("https://127.0.0.1:8443\\@hooks.slack.com/x", False),
    ("https://evil.example#@hooks.slack.com/x", False),
    ("https://evil.example?@hooks.slack.com/x", False),
    ("https://hooks.slack.com%2f@evil.example/x", False),
    ("https://notslack.com/x", False),
    ("http://slack.test:8280/hooks/1", True),  # the host of HUB_SLACK_API_URL: a self-hosted double
    ("https://slack.test/hooks/1", True),
    ("http://other.test:8280/hooks/1", False),
    ("ftp://slack.test/hooks/1", False),
    ("hooks.slack.com/actions/T0001/1/abc", False),
    ("", False),
])
def test_which_response_urls_the_hub_calls(make_app, url, allowed):
    from plugins.slack.client import is_slack_url

    with make_app(HUB_SLACK_API_URL="http://slack.test:8280/api").app_context():
        assert is_slack_url(url) is allowed


def test_a_response_url_on_the_configured_slack_api_host_is_used(
    make_app, factories, requests_mock, run_jobs
):
    """A hub pointed at a self-hosted Slack (a test double, a proxy) updates messages through it."""
    from tests.plugins.slack.helpers import SlackRequests

    app = make_app(HUB_SLACK_API_URL="http://slack.test:8280/api")
    with app.app_context():
        s = factories.setup()
        integration = factories.integration(s["org"], "slack", TEAM, metadata={"access_token": BOT_TOKEN})
        jess = factories.member(s["org"], "jess@example.com", projects=[s["project"]])
        group = factories.group(s["project"], "ZeroDivisionError: division by zero")
        factories.identity(integration, SLACK_USER, jess)
        hook = "http://slack.test:8280/hooks/actions/T0001/1/abc"
        requests_mock.post(hook, text="ok")
        payload = block_actions(group.id)
        payload["response_url"] = hook
        r = SlackRequests(app.test_client()).action(payload)
        assert r.status_code == 200
        assert requests_mock.request_history == []
        run_jobs()  # in this app's context
        assert [x.url for x in requests_mock.request_history] == [hook]
        assert requests_mock.request_history[0].json()["replace_original"] is True
        assert "Authorization" not in requests_mock.request_history[0].headers


def test_unreachable_response_url_falls_back_to_chat_update(
    client, env, factories, slack, requests_mock, run_jobs
):
    _link(factories, env)
    requests_mock.post(RESPONSE_URL, exc=requests.exceptions.ConnectionError)
    requests_mock.post(
        f"{API}/chat.update", json={"ok": True, "channel": "C07ONCALL", "ts": "1795170600.004200"}
    )
    r = slack.action(block_actions(env["group_id"]))
    assert r.status_code == 200
    assert r.data == b""
    assert issue(client, env, env["group_id"])["status"] == "resolved"
    run_jobs()
    (update,) = [x for x in requests_mock.request_history if x.url == f"{API}/chat.update"]
    assert update.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    body = update.json()
    assert (body["channel"], body["ts"]) == ("C07ONCALL", "1795170600.004200")
    assert body["text"] == f"[backend] {env['short_id']}: ZeroDivisionError: division by zero"
    outcome = next(b for b in body["blocks"] if b["block_id"] == "outcome")
    assert outcome["elements"][0]["text"] == f"Issue resolved by <@{SLACK_USER}>"
    assert assert_valid_requests("slack", [update], API) == 1
