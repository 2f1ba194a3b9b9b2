"""Installing the bot: by hand through the API, and through Discord's OAuth2 bot flow."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from hub import models as m
from hub.extensions import db
from plugins.discord.install import BOT_PERMISSIONS, COMMANDS
from tests.plugins.discord.conftest import API, APPLICATION_ID, BOT_TOKEN, GUILD_ID
from tests.support.specs import assert_valid_requests

COMMANDS_URL = f"{API}/applications/{APPLICATION_ID}/guilds/{GUILD_ID}/commands"
GUILD_URL = f"{API}/guilds/{GUILD_ID}"


def mock_guild(requests_mock, status=200):
    requests_mock.get(
        GUILD_URL,
        status_code=status,
        json={"id": GUILD_ID, "name": "Acme Server"}
        if status == 200
        else {"message": "Missing Access", "code": 50001},
    )
    requests_mock.put(COMMANDS_URL, json=[{"id": "1", "name": c["name"]} for c in COMMANDS])


def assert_commands_registered(requests_mock):
    put = [r for r in requests_mock.request_history if r.method == "PUT"]
    assert len(put) == 1
    assert put[0].url == COMMANDS_URL
    assert put[0].headers["Authorization"] == f"Bot {BOT_TOKEN}"
    assert [c["name"] for c in put[0].json()] == ["link", "unlink", "help"]
    assert all(c["type"] == 1 and c["description"] for c in put[0].json())
    assert assert_valid_requests("discord", requests_mock.request_history, API) == 2


def test_manual_install_registers_commands(client, factories, requests_mock):
    s = factories.setup()
    mock_guild(requests_mock)
    r = client.post(
        "/api/0/organizations/acme/integrations/",
        headers=s["headers"],
        json={"provider": "discord", "externalId": GUILD_ID},
    )
    assert r.status_code == 201, r.json
    assert r.json["externalId"] == GUILD_ID
    assert r.json["name"] == "Acme Server"
    assert r.json["status"] == "active"
    assert_commands_registered(requests_mock)


def test_manual_install_fails_clearly_when_the_bot_is_not_in_the_server(client, factories, requests_mock):
    s = factories.setup()
    mock_guild(requests_mock, status=403)
    r = client.post(
        "/api/0/organizations/acme/integrations/",
        headers=s["headers"],
        json={"provider": "discord", "externalId": GUILD_ID},
    )
    assert r.status_code == 400
    assert "Is the bot a member of that server" in r.json["detail"]
    assert "Discord code 50001" in r.json["detail"] and "Missing Access" not in r.json["detail"]
    assert client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json == []
    assert not any(r.method == "PUT" for r in requests_mock.request_history)


def test_manual_install_rejects_a_non_numeric_guild_id(client, factories, requests_mock):
    s = factories.setup()
    r = client.post(
        "/api/0/organizations/acme/integrations/",
        headers=s["headers"],
        json={"provider": "discord", "externalId": "my-server"},
    )
    assert r.status_code == 400
    assert "Discord server id" in r.json["detail"]
    assert requests_mock.request_history == []


def _start(client, headers, org="acme"):
    r = client.get(f"/extensions/discord/oauth/?organization={org}", headers=headers)
    assert r.status_code == 302, r.data
    location = urlparse(r.headers["Location"])
    return location, {k: v[0] for k, v in parse_qs(location.query).items()}


def test_oauth_start_redirects_to_discord(client, factories):
    s = factories.setup()
    location, query = _start(client, s["headers"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://discord.com/oauth2/authorize"
    assert query["client_id"] == APPLICATION_ID
    assert query["scope"] == "bot applications.commands"
    assert query["permissions"] == str(BOT_PERMISSIONS)
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == "http://hub.test/extensions/discord/oauth/"
    assert query["state"]


def test_oauth_start_refuses_a_plain_member(client, factories):
    s = factories.setup()
    member = factories.member(s["org"], "dev@example.com")
    r = client.get("/extensions/discord/oauth/?organization=acme",
                   headers={"Authorization": f"Bearer {factories.token(member)}"})
    assert r.status_code == 403 and "owner or admin" in r.get_data(as_text=True)
    r = client.get("/extensions/discord/oauth/?organization=nope", headers=s["headers"])
    assert r.status_code == 403


def test_oauth_start_needs_a_login(client):
    r = client.get("/extensions/discord/oauth/?organization=acme")
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login?next=")


def test_oauth_callback_saves_and_attaches_the_guild(client, factories, requests_mock):
    s = factories.setup()
    _, query = _start(client, s["headers"])
    mock_guild(requests_mock)
    r = client.get(
        f"/extensions/discord/oauth/?code=abc&guild_id={GUILD_ID}&state={query['state']}&permissions=1",
        headers=s["headers"],
    )
    assert r.status_code == 200, r.data
    assert b"now connected to acme" in r.data
    installed = client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json
    assert [(i["provider"], i["externalId"], i["name"], i["status"]) for i in installed] == [
        ("discord", GUILD_ID, "Acme Server", "active")
    ]
    assert_commands_registered(requests_mock)


def test_oauth_callback_with_a_forged_state_changes_nothing(client, factories, requests_mock):
    s = factories.setup()
    r = client.get(
        f"/extensions/discord/oauth/?code=abc&guild_id={GUILD_ID}&state=forged", headers=s["headers"]
    )
    assert r.status_code == 400
    assert client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json == []
    assert requests_mock.request_history == []


def test_oauth_callback_by_a_plain_member_attaches_nothing(client, factories, requests_mock):
    s = factories.setup()
    member = factories.member(s["org"], "dev@example.com", role="admin")
    headers = {"Authorization": f"Bearer {factories.token(member)}"}
    _, query = _start(client, headers)  # an admin starts the install, then is demoted before the callback
    member_row = db.session.scalar(
        select(m.OrganizationMember).where(m.OrganizationMember.user_id == member.id)
    )
    member_row.role = "member"
    db.session.commit()
    mock_guild(requests_mock)
    r = client.get(
        f"/extensions/discord/oauth/?code=abc&guild_id={GUILD_ID}&state={query['state']}", headers=headers
    )
    assert r.status_code == 403
    assert client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json == []


def test_oauth_callback_refuses_a_guild_of_another_org(client, factories, requests_mock):
    other = factories.setup(org_slug="other", email="other@example.com")
    factories.integration(other["org"], "discord", GUILD_ID)
    s = factories.setup()
    _, query = _start(client, s["headers"])
    r = client.get(
        f"/extensions/discord/oauth/?code=abc&guild_id={GUILD_ID}&state={query['state']}",
        headers=s["headers"],
    )
    assert r.status_code == 409
    assert client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json == []


@pytest.mark.parametrize("token_guild, status", [(GUILD_ID, 200), ("1199999999999999999", 400)])
def test_oauth_callback_checks_the_code_when_a_client_secret_is_set(
    factories, requests_mock, token_guild, status, app
):
    app.config["HUB_DISCORD_CLIENT_SECRET"] = "client-secret"
    client = app.test_client()
    s = factories.setup()
    _, query = _start(client, s["headers"])
    mock_guild(requests_mock)
    requests_mock.post(f"{API}/oauth2/token", json={"access_token": "x", "guild": {"id": token_guild}})
    r = client.get(
        f"/extensions/discord/oauth/?code=abc&guild_id={GUILD_ID}&state={query['state']}",
        headers=s["headers"],
    )
    assert r.status_code == status
    token_call = requests_mock.request_history[0]
    assert token_call.url == f"{API}/oauth2/token"
    assert parse_qs(token_call.text) == {
        "grant_type": ["authorization_code"],
        "code": ["abc"],
        "redirect_uri": ["http://hub.test/extensions/discord/oauth/"],
    }
    assert token_call.headers["Authorization"].startswith("Basic ")
    installed = client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json
    assert len(installed) == (1 if status == 200 else 0)
    assert_valid = assert_valid_requests(
        "discord", requests_mock.request_history, API, allow_unlisted={"POST /api/v10/oauth2/token"}
    )
    assert assert_valid == len(requests_mock.request_history)


def test_manual_install_goes_on_when_discord_cannot_confirm_the_server(client, factories, requests_mock):
    """A 404 on reading the server (or a 5xx on the commands) is a recorded warning, not a refusal."""
    from hub import services

    s = factories.setup()
    requests_mock.get(GUILD_URL, status_code=404, json={"message": "Unknown Guild", "code": 10004})
    requests_mock.put(COMMANDS_URL, status_code=502, text="bad gateway")
    r = client.post("/api/0/organizations/acme/integrations/", headers=s["headers"],
                    json={"provider": "discord", "externalId": GUILD_ID, "name": "Ops"})
    assert r.status_code == 201, r.json
    stored = services.get_integration("discord", GUILD_ID)
    assert [w.split(":")[0] for w in stored.metadata["install_warnings"]] == [
        "could not read the server", "could not register the commands"]


def test_uninstall_removes_the_commands_from_the_server(client, factories, requests_mock):
    s = factories.setup()
    mock_guild(requests_mock)
    r = client.post("/api/0/organizations/acme/integrations/", headers=s["headers"],
                    json={"provider": "discord", "externalId": GUILD_ID})
    assert r.status_code == 201
    assert client.delete(f"/api/0/organizations/acme/integrations/{r.json['id']}/",
                         headers=s["headers"]).status_code == 204
    puts = [x for x in requests_mock.request_history if x.method == "PUT"]
    assert [p.json() for p in puts][-1] == [] and puts[-1].url == COMMANDS_URL
    assert assert_valid_requests("discord", requests_mock.request_history, API) == len(
        requests_mock.request_history
    )


@pytest.mark.parametrize("verified", [True, False])
def test_a_verified_oauth_install_releases_a_guild_claimed_by_hand(factories, requests_mock, app, verified):
    """Org B claims the guild by hand (no proof); org A adds the bot through Discord: a verified
    code (client secret set, Discord names the guild) takes it, B lets go; an unverified one does not."""
    if verified:
        app.config["HUB_DISCORD_CLIENT_SECRET"] = "client-secret"
    client = app.test_client()
    squatter = factories.setup(org_slug="squat", email="x@squat.example")
    mock_guild(requests_mock)
    r = client.post("/api/0/organizations/squat/integrations/", headers=squatter["headers"],
                    json={"provider": "discord", "externalId": GUILD_ID})
    assert r.status_code == 201, r.json
    s = factories.setup()
    _, query = _start(client, s["headers"])
    requests_mock.post(f"{API}/oauth2/token", json={"access_token": "x", "guild": {"id": GUILD_ID}})
    r = client.get(f"/extensions/discord/oauth/?code=abc&guild_id={GUILD_ID}&state={query['state']}",
                   headers=s["headers"])
    installed = client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json
    [claimed] = client.get("/api/0/organizations/squat/integrations/", headers=squatter["headers"]).json
    if verified:
        assert r.status_code == 200, r.data
        assert [(i["externalId"], i["status"]) for i in installed] == [(GUILD_ID, "active")]
        assert claimed["status"] == "disabled" and "attach it again" in claimed["error"]
        # the claim by hand cannot come back without proof: the guild is taken now
        again = client.post("/api/0/organizations/squat/integrations/", headers=squatter["headers"],
                            json={"provider": "discord", "externalId": GUILD_ID})
        assert again.status_code == 409
    else:
        assert r.status_code == 409
        assert installed == [] and claimed["status"] == "active"
