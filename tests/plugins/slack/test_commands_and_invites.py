"""The ``/hub`` slash command, unlinking, and invite requests approved from Slack."""

from __future__ import annotations

import json
import re

import requests

from tests.plugins.slack.helpers import API, RESPONSE_URL, SLACK_USER, block_actions
from tests.plugins.slack.payloads import ALERT_TS, CHANNEL
from tests.support.specs import assert_valid_requests


def test_help_and_unknown_commands(slack, env):
    r = slack.command("help")
    assert r.status_code == 200
    assert r.json["response_type"] == "ephemeral"
    assert "`/hub link`" in r.json["text"]
    r = slack.command("dance")
    assert r.json["text"].startswith("Unknown command `dance`.")


def test_link_command_gives_a_signed_link(client, slack, env):
    r = slack.command("link")
    path = re.search(r"<http://hub\.test(/extensions/slack/link-identity/[^|>]+)\|", r.json["text"]).group(1)
    r = client.post(path, headers=env["headers"])
    assert r.status_code == 200
    r = slack.command("link")
    assert r.json["text"].startswith("You are already linked as owner@example.com.")


def test_unlink_command_and_page(client, slack, env, factories):
    assert (
        slack.command("unlink").json["text"]
        == "Your Slack identity is not linked to an Integration Hub account."
    )
    factories.identity(env["integration"], SLACK_USER, env["jess"])
    text = slack.command("unlink").json["text"]
    path = re.search(r"<http://hub\.test(/extensions/slack/unlink-identity/[^|>]+)\|", text).group(1)
    jess_headers = {"Authorization": f"Bearer {factories.token(env['jess'])}"}
    assert client.get(path, headers=jess_headers).status_code == 200
    r = client.post(path, headers=jess_headers)
    assert r.status_code == 200
    assert r.json["unlinked"] is True
    r = slack.action(block_actions(env["group_id"]))
    assert "link-identity" in r.json["text"]  # unlinked: asked to link again


def test_slack_s_certificate_check_is_an_empty_200_once_signed(slack, client, env, requests_mock):
    """Slack posts ``ssl_check=1`` (no team, no user, no command) to a command's URL to check the
    certificate; signed, it is answered 200 with nothing in it and nothing else happens. Unsigned it
    is refused like any unsigned request (CONTRACT section 3: no signature, 401)."""
    r = slack.post("commands/", b"token=legacy&ssl_check=1")
    assert r.status_code == 200 and r.data == b""
    assert requests_mock.request_history == []
    unsigned = client.post("/extensions/slack/commands/", data=b"token=legacy&ssl_check=1",
                           content_type="application/x-www-form-urlencoded")
    assert unsigned.status_code == 401


def test_command_from_unknown_team_is_403(slack, env):
    assert slack.command("help", team="T9999").status_code == 403


def _invite(client, env, factories, requests_mock):
    """A member asks to invite someone; the job posts it to the org's alert channel."""
    client.post(
        "/api/0/projects/acme/backend/rules/",
        headers=env["headers"],
        json={
            "name": "alerts",
            "conditions": [{"id": "first_seen_event"}],
            "actions": [{"integrationId": env["integration_id"], "channelId": "C07ONCALL"}],
        },
    )
    jess_headers = {"Authorization": f"Bearer {factories.token(env['jess'])}"}
    r = client.post(
        "/api/0/organizations/acme/invite-requests/",
        headers=jess_headers,
        json={"email": "new@example.com", "role": "member"},
    )
    assert r.status_code == 201, r.json
    return r.json["id"]


def _click(invite_id, action_id, user=SLACK_USER):
    payload = block_actions(
        0, user=user, action={"action_id": action_id, "value": str(invite_id), "block_id": "invite_actions"}
    )
    payload["message"]["blocks"] = [
        {
            "type": "section",
            "block_id": json.dumps({"invite_request": int(invite_id)}),
            "text": {"type": "mrkdwn", "text": "Jess is requesting to invite new@example.com"},
        },
        {"type": "actions", "block_id": "invite_actions", "elements": []},
    ]
    return payload


def test_invite_request_posted_and_approved_by_an_admin(
    client, env, factories, slack, run_jobs, requests_mock
):
    requests_mock.post(f"{API}/chat.postMessage", json={"ok": True, "channel": "C07ONCALL", "ts": "1.0"})
    requests_mock.post(RESPONSE_URL, text="ok")
    factories.identity(env["integration"], "U0OWNER", env["owner"])
    invite_id = _invite(client, env, factories, requests_mock)
    run_jobs()
    (posted,) = requests_mock.request_history
    body = posted.json()
    assert body["channel"] == "C07ONCALL"
    assert body["text"] == "Jess is requesting to invite new@example.com as member to acme."
    buttons = body["blocks"][1]["elements"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("approve_member", invite_id),
        ("reject_member", invite_id),
    ]
    assert assert_valid_requests("slack", requests_mock.request_history, API) == 1

    r = slack.action(_click(invite_id, "approve_member", user="U0OWNER"))
    assert r.status_code == 200
    members = client.get("/api/0/organizations/acme/members/", headers=env["headers"]).json
    assert "new@example.com" in [x["email"] for x in members]
    run_jobs()
    update = requests_mock.request_history[-1]
    assert update.url == RESPONSE_URL
    assert update.json()["replace_original"] is True
    assert update.json()["blocks"][-1]["elements"][0]["text"] == "Approved by <@U0OWNER>"

    again = _click(invite_id, "reject_member", user="U0OWNER")
    r = slack.action(again)
    assert r.json["text"] == "This invite request no longer exists."


def test_invite_request_refused_for_a_plain_member(client, env, factories, slack, requests_mock):
    invite_id = _invite(client, env, factories, requests_mock)
    factories.identity(env["integration"], SLACK_USER, env["jess"])
    r = slack.action(_click(invite_id, "approve_member"))
    assert r.status_code == 200
    assert (
        r.json["text"] == "Only an owner or admin of the organization can approve or reject invite requests."
    )
    pending = client.get("/api/0/organizations/acme/invite-requests/", headers=env["headers"]).json
    assert [p["id"] for p in pending] == [invite_id]


def test_invite_request_rejected(client, env, factories, slack, requests_mock):
    requests_mock.post(RESPONSE_URL, text="ok")
    invite_id = _invite(client, env, factories, requests_mock)
    factories.identity(env["integration"], "U0OWNER", env["owner"])
    assert slack.action(_click(invite_id, "reject_member", user="U0OWNER")).status_code == 200
    assert client.get("/api/0/organizations/acme/invite-requests/", headers=env["headers"]).json == []
    members = client.get("/api/0/organizations/acme/members/", headers=env["headers"]).json
    assert "new@example.com" not in [x["email"] for x in members]


def test_handled_invite_with_a_foreign_response_url_is_redrawn_with_chat_update(
    client, env, factories, slack, requests_mock, run_jobs
):
    requests_mock.post(f"{API}/chat.update", json={"ok": True, "channel": CHANNEL, "ts": "1.0"})
    invite_id = _invite(client, env, factories, requests_mock)
    factories.identity(env["integration"], "U0OWNER", env["owner"])
    before = len(requests_mock.request_history)
    payload = _click(invite_id, "reject_member", user="U0OWNER")
    payload["response_url"] = "https://127.0.0.1:8443\\@hooks.slack.com/actions/T0001/1/abc"
    r = slack.action(payload)
    assert r.status_code == 200
    assert requests_mock.request_history[before:] == []
    run_jobs()
    assert [x.url for x in requests_mock.request_history[before:]] == [f"{API}/chat.update"]
    body = requests_mock.request_history[-1].json()
    assert (body["channel"], body["ts"]) == (CHANNEL, ALERT_TS)
    assert body["blocks"][-1]["elements"][0]["text"] == "Rejected by <@U0OWNER>"


def test_handled_invite_redrawn_with_chat_update_when_response_url_fails(
    client, env, factories, slack, requests_mock, run_jobs
):
    requests_mock.post(RESPONSE_URL, exc=requests.exceptions.ConnectionError)
    requests_mock.post(f"{API}/chat.update", json={"ok": True, "channel": "C07ONCALL", "ts": "1.0"})
    invite_id = _invite(client, env, factories, requests_mock)
    factories.identity(env["integration"], "U0OWNER", env["owner"])
    r = slack.action(_click(invite_id, "reject_member", user="U0OWNER"))
    assert r.status_code == 200
    assert client.get("/api/0/organizations/acme/invite-requests/", headers=env["headers"]).json == []
    run_jobs()
    (update,) = [x for x in requests_mock.request_history if x.url == f"{API}/chat.update"]
    body = update.json()
    assert (body["channel"], body["ts"]) == ("C07ONCALL", "1795170600.004200")
    assert body["blocks"][-1]["elements"][0]["text"] == "Rejected by <@U0OWNER>"
    assert assert_valid_requests("slack", [update], API) == 1


def test_an_admin_cannot_make_an_owner_from_slack(client, env, factories, slack, requests_mock):
    """A request for `owner` (an owner may file one): an admin's Approve is refused, an owner's works."""
    requests_mock.post(RESPONSE_URL, text="ok")
    admin = factories.member(env["org"], "ada@example.com", role="admin")
    factories.identity(env["integration"], "U0ADMIN", admin)
    factories.identity(env["integration"], "U0OWNER", env["owner"])
    r = client.post("/api/0/organizations/acme/invite-requests/", headers=env["headers"],
                    json={"email": "boss@example.com", "role": "owner"})
    assert r.status_code == 201, r.json
    invite_id = r.json["id"]

    r = slack.action(_click(invite_id, "approve_member", user="U0ADMIN"))
    assert r.status_code == 200
    assert r.json["text"] == "Only an owner can add an owner."
    members = client.get("/api/0/organizations/acme/members/", headers=env["headers"]).json
    assert "boss@example.com" not in [x["email"] for x in members]
    pending = client.get("/api/0/organizations/acme/invite-requests/", headers=env["headers"]).json
    assert [p["id"] for p in pending] == [invite_id]
    assert requests_mock.request_history == []  # the message keeps its buttons

    assert slack.action(_click(invite_id, "approve_member", user="U0OWNER")).status_code == 200
    members = client.get("/api/0/organizations/acme/members/", headers=env["headers"]).json
    assert [x["role"] for x in members if x["email"] == "boss@example.com"] == ["owner"]


def test_a_member_cannot_request_an_owner_for_slack_to_approve(client, env, factories):
    jess_headers = {"Authorization": f"Bearer {factories.token(env['jess'])}"}
    r = client.post("/api/0/organizations/acme/invite-requests/", headers=jess_headers,
                    json={"email": "boss@example.com", "role": "owner"})
    assert r.status_code == 403
    assert r.json["errors"] == {"role": ["Roles you may ask for: member."]}
    assert client.get("/api/0/organizations/acme/invite-requests/", headers=env["headers"]).json == []
