"""Installing Slack: OAuth v2 from the hub, and by hand through the REST API."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from hub import models as m
from hub.extensions import db
from tests.plugins.slack.helpers import API
from tests.support.specs import assert_valid_requests

OAUTH_ANSWER = {
    "ok": True,
    "access_token": "xoxb-new-bot-token",
    "token_type": "bot",
    "scope": "chat:write,commands,users:read",
    "bot_user_id": "U0BOT",
    "app_id": "A0001",
    "team": {"name": "Acme", "id": "T0NEW"},
    "enterprise": None,
    "is_enterprise_install": False,
    "authed_user": {"id": "U0INSTALLER"},
}


def _login(client, user_id):
    with client.session_transaction() as session:
        session["user_id"] = int(user_id)


def test_start_needs_a_login(client):
    r = client.get("/extensions/slack/oauth/?organization=acme")
    assert r.status_code == 302
    assert r.headers["Location"] == "/login?next=%2Fextensions%2Fslack%2Foauth%2F%3Forganization%3Dacme"
    r = client.get("/extensions/slack/oauth/?organization=acme", headers={"Accept": "application/json"})
    assert r.status_code == 401


def test_oauth_install_end_to_end(client, factories, requests_mock):
    s = factories.setup()
    _login(client, s["owner"].id)
    owner_id = str(s["owner"].id)
    r = client.get("/extensions/slack/oauth/?organization=acme")
    assert r.status_code == 302
    location = urlsplit(r.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://slack.com/oauth/v2/authorize"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["client_id"] == "slack-client-id"
    assert set(query["scope"].split(",")) >= {
        "chat:write",
        "commands",
        "users:read",
        "users:read.email",
        "channels:read",
    }
    assert query["redirect_uri"] == "http://hub.test/extensions/slack/oauth/"

    requests_mock.post(f"{API}/oauth.v2.access", json=OAUTH_ANSWER)
    r = client.get(f"/extensions/slack/oauth/?code=4724469134.4644010092847&state={query['state']}")
    assert r.status_code == 200, r.data
    (exchange,) = requests_mock.request_history
    assert exchange.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(exchange.text) == {
        "client_id": ["slack-client-id"],
        "client_secret": ["slack-client-secret"],
        "code": ["4724469134.4644010092847"],
        "redirect_uri": ["http://hub.test/extensions/slack/oauth/"],
    }
    assert "Authorization" not in exchange.headers
    assert assert_valid_requests("slack", requests_mock.request_history, API) == 1

    listed = client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json
    assert [(i["provider"], i["externalId"], i["name"], i["status"]) for i in listed] == [
        ("slack", "T0NEW", "Acme", "active")
    ]
    row = db.session.scalar(db.select(m.Integration).where(m.Integration.external_id == "T0NEW"))
    assert "xoxb-new-bot-token" not in row.metadata_encrypted  # encrypted at rest
    from hub import services

    stored = services.get_integration("slack", "T0NEW")
    assert stored.metadata["access_token"] == "xoxb-new-bot-token"
    assert stored.metadata["bot_user_id"] == "U0BOT"
    assert services.get_identity(stored.id, "U0INSTALLER").id == owner_id


def test_callback_with_a_forged_state_stores_nothing(client, factories, requests_mock):
    s = factories.setup()
    _login(client, s["owner"].id)
    r = client.get("/extensions/slack/oauth/?code=abc&state=forged")
    assert r.status_code == 400
    assert requests_mock.request_history == []
    assert db.session.scalar(db.select(db.func.count()).select_from(m.Integration)) == 0


def test_a_member_cannot_start_the_install(client, factories):
    s = factories.setup()
    member = factories.member(s["org"], "m@example.com", role="member")
    _login(client, member.id)
    r = client.get("/extensions/slack/oauth/?organization=acme", headers={"Accept": "application/json"})
    assert r.status_code == 403
    _login(client, s["owner"].id)
    r = client.get(
        "/extensions/slack/oauth/?organization=unknown-org", headers={"Accept": "application/json"}
    )
    assert r.status_code == 403


def test_a_member_cannot_attach_slack_to_the_org(client, factories, requests_mock):
    s = factories.setup()
    member = factories.member(s["org"], "m@example.com", role="admin")
    _login(client, member.id)
    state = parse_qs(
        urlsplit(client.get("/extensions/slack/oauth/?organization=acme").headers["Location"]).query
    )
    member_row = db.session.scalar(
        db.select(m.OrganizationMember).where(m.OrganizationMember.user_id == member.id)
    )
    member_row.role = "member"  # demoted between the start and Slack's callback
    db.session.commit()
    requests_mock.post(f"{API}/oauth.v2.access", json=OAUTH_ANSWER)
    r = client.get(
        f"/extensions/slack/oauth/?code=abc&state={state['state'][0]}", headers={"Accept": "application/json"}
    )
    assert r.status_code == 403
    assert client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json == []


def test_cancelled_in_slack(client):
    r = client.get(
        "/extensions/slack/oauth/?error=access_denied&state=x", headers={"Accept": "application/json"}
    )
    assert r.status_code == 400
    assert r.json["detail"] == "The installation was cancelled in Slack (access_denied)."


def test_manual_install_checks_the_token(client, factories, requests_mock):
    s = factories.setup()
    requests_mock.post(
        f"{API}/auth.test",
        json={
            "ok": True,
            "team_id": "T0001",
            "team": "Acme",
            "user_id": "U0BOT",
            "url": "https://acme.slack.com/",
        },
    )
    r = client.post(
        "/api/0/organizations/acme/integrations/",
        headers=s["headers"],
        json={"provider": "slack", "externalId": "T0001", "name": "", "metadata": {"access_token": "xoxb-1"}},
    )
    assert r.status_code == 201, r.json
    assert (r.json["provider"], r.json["externalId"], r.json["name"]) == ("slack", "T0001", "Acme")
    assert requests_mock.request_history[0].headers["Authorization"] == "Bearer xoxb-1"
    assert assert_valid_requests("slack", requests_mock.request_history, API) == 1


def test_manual_install_without_token_is_400(client, factories, requests_mock):
    s = factories.setup()
    r = client.post(
        "/api/0/organizations/acme/integrations/",
        headers=s["headers"],
        json={"provider": "slack", "externalId": "T0001", "metadata": {}},
    )
    assert r.status_code == 400
    assert r.json["detail"] == "metadata.access_token (the Slack bot token) is required."
    assert requests_mock.request_history == []


def test_manual_install_with_a_revoked_token_is_400(client, factories, requests_mock):
    s = factories.setup()
    requests_mock.post(f"{API}/auth.test", json={"ok": False, "error": "invalid_auth"})
    r = client.post(
        "/api/0/organizations/acme/integrations/",
        headers=s["headers"],
        json={"provider": "slack", "externalId": "T0001", "metadata": {"access_token": "xoxb-bad"}},
    )
    assert r.status_code == 400
    assert r.json["detail"] == "Slack refused the bot token (slack: invalid_auth)."
    assert client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json == []


def test_manual_install_refuses_a_token_of_another_workspace(client, factories, requests_mock):
    """The token proves the workspace: one Slack says belongs to another team is a 400, nothing stored."""
    from hub import services

    s = factories.setup()
    requests_mock.post(f"{API}/auth.test", json={"ok": True, "team_id": "T12345678", "team": "Other",
                                                 "user_id": "U0BOT"})
    r = client.post("/api/0/organizations/acme/integrations/", headers=s["headers"],
                    json={"provider": "slack", "externalId": "T0001", "metadata": {"access_token": "xoxb-1"}})
    assert r.status_code == 400, r.json
    assert r.json["detail"] == "The bot token belongs to another Slack workspace (T12345678), not T0001."
    assert list(r.json["errors"]) == ["externalId"]
    assert services.get_integration("slack", "T0001") is None
    assert client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json == []


def test_manual_install_records_what_auth_test_cannot_confirm(client, factories, requests_mock):
    """auth.test answers an error (not a refusal of the token): stored with a warning, unproven."""
    from hub import services

    s = factories.setup()
    requests_mock.post(f"{API}/auth.test", status_code=404, text="not found")
    r = client.post("/api/0/organizations/acme/integrations/", headers=s["headers"],
                    json={"provider": "slack", "externalId": "T0002", "metadata": {"access_token": "xoxb-2"}})
    assert r.status_code == 201, r.json
    warnings = services.get_integration("slack", "T0002").metadata["install_warnings"]
    assert warnings[0].startswith("auth.test failed")
