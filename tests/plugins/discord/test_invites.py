"""Invite requests in Discord: posted with Approve / Reject, handled by the core's one role rule."""

from __future__ import annotations

import pytest

from tests.plugins.discord.conftest import API, CHANNEL_ID, DISCORD_USER_ID, component, post_interaction
from tests.support.specs import assert_valid_requests

MESSAGES_URL = f"{API}/channels/{CHANNEL_ID}/messages"
EPHEMERAL = 64


@pytest.fixture
def invite(client, discord, factories, run_jobs, requests_mock):
    """A rule sends alerts to CHANNEL_ID; `file(role, by)` files an invite request and runs the job."""
    r = client.post("/api/0/projects/acme/backend/rules/", headers=discord["headers"], json={
        "name": "alerts", "conditions": [{"id": "first_seen_event"}],
        "actions": [{"integrationId": str(discord["integration"].id), "channelId": CHANNEL_ID}]})
    assert r.status_code == 201, r.json
    requests_mock.post(MESSAGES_URL, json={"id": "1300000000000000001", "channel_id": CHANNEL_ID})

    def file(role="member", headers=None):
        r = client.post("/api/0/organizations/acme/invite-requests/", headers=headers or discord["headers"],
                        json={"email": "new@example.com", "role": role})
        assert r.status_code == 201, r.json
        run_jobs()
        return r.json["id"]

    return file


def _members(client, discord):
    return {x["email"]: x["role"] for x in
            client.get("/api/0/organizations/acme/members/", headers=discord["headers"]).json}


def test_invite_request_posted_and_approved_by_a_linked_owner(client, discord, factories, invite,
                                                              requests_mock):
    dev = factories.member(discord["org"], "dev@example.com", name="Dev")
    invite_id = invite(headers={"Authorization": f"Bearer {factories.token(dev)}"})
    (posted,) = requests_mock.request_history
    assert posted.url == MESSAGES_URL and posted.headers["Authorization"].startswith("Bot ")
    body = posted.json()
    assert body["content"] == "Dev is requesting to invite new@example.com as member to acme."
    assert body["allowed_mentions"] == {"parse": []}
    assert [(b["label"], b["custom_id"]) for b in body["components"][0]["components"]] == [
        ("Approve", f"approve_member:{invite_id}"), ("Reject", f"reject_member:{invite_id}")]
    assert assert_valid_requests("discord", requests_mock.request_history, API) == 1

    factories.identity(discord["integration"], DISCORD_USER_ID, discord["owner"])
    r = post_interaction(client, component(f"approve_member:{invite_id}"))
    assert r.status_code == 200
    assert r.json["type"] == 7 and r.json["data"]["components"] == []
    assert r.json["data"]["content"].endswith(f"Approved by <@{DISCORD_USER_ID}>.")
    assert _members(client, discord)["new@example.com"] == "member"
    click = component(f"reject_member:{invite_id}", interaction_id="1176543210987654398")
    again = post_interaction(client, click)
    assert again.json["data"] == {"content": "This invite request no longer exists.", "flags": EPHEMERAL}


def test_an_admin_cannot_make_an_owner_from_discord(client, discord, factories, invite):
    invite_id = invite(role="owner")  # filed by the owner, who may ask for an owner
    admin = factories.member(discord["org"], "ada@example.com", role="admin")
    factories.identity(discord["integration"], DISCORD_USER_ID, admin)
    r = post_interaction(client, component(f"approve_member:{invite_id}"))
    assert r.json["data"] == {"content": "Only an owner can add an owner.", "flags": EPHEMERAL}
    assert "new@example.com" not in _members(client, discord)
    pending = client.get("/api/0/organizations/acme/invite-requests/", headers=discord["headers"]).json
    assert [p["id"] for p in pending] == [invite_id]


def test_a_plain_member_or_an_unlinked_user_cannot_approve(client, discord, factories, invite):
    invite_id = invite()
    r = post_interaction(client, component(f"approve_member:{invite_id}"))
    assert "link-identity" in r.json["data"]["content"]
    dev = factories.member(discord["org"], "dev@example.com")
    factories.identity(discord["integration"], DISCORD_USER_ID, dev)
    click = component(f"approve_member:{invite_id}", interaction_id="1176543210987654398")
    r = post_interaction(client, click)
    assert r.json["data"]["content"].startswith("Only an owner or admin")
    r = post_interaction(client, component("approve_member:x", interaction_id="1176543210987654397"))
    assert r.json["data"]["content"] == "This invite request no longer exists."
    assert "new@example.com" not in _members(client, discord)


def test_an_invite_of_another_org_cannot_be_handled_from_this_server(client, discord, factories):
    other = factories.setup(org_slug="globex", email="boss@globex.example")
    r = client.post("/api/0/organizations/globex/invite-requests/", headers=other["headers"],
                    json={"email": "new@example.com"})
    factories.member(other["org"], "owner@example.com", role="owner")  # acme's owner is globex's too
    factories.identity(discord["integration"], DISCORD_USER_ID, discord["owner"])
    answer = post_interaction(client, component(f"approve_member:{r.json['id']}")).json
    assert answer["data"]["content"].startswith("This invite request does not belong")
    assert client.get("/api/0/organizations/globex/invite-requests/", headers=other["headers"]).json != []
