"""The guided OAuth 1.0a install: setup page → keys → request token → authorize → callback → installed."""

from __future__ import annotations

import html
import re

import pytest
import requests

from hub import services
from tests.plugins.jira_server.conftest import BASE_URL, WEBHOOK_PATHS, assert_oauth1_signed, mock_install
from tests.support.specs import assert_valid_requests

SETUP = "/extensions/jira_server/setup/"
CALLBACK = "/extensions/jira_server/oauth-callback/"
SERVLETS = {
    "/plugins/servlet/oauth/request-token",
    "/plugins/servlet/oauth/access-token",
}  # not REST: not in spec


def field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} in the page"
    return html.unescape(match.group(1))


def keys_of(page: str) -> tuple[str, str]:
    consumer_key = re.search(r"<th>Consumer key</th><td><code>([^<]+)</code>", page).group(1)
    public_key = html.unescape(re.search(r"<pre>([^<]+)</pre>", page).group(1))
    return consumer_key, public_key


def verify(request, public_key, consumer_key, **expected):
    params = assert_oauth1_signed(request, public_key, token=None, consumer_key=consumer_key)
    for name, value in expected.items():
        assert params.get(name) == value, (name, params.get(name))
    return params


@pytest.fixture
def started(client, factories):
    """An owner who entered the Jira base URL: the keys page is shown."""
    s = factories.setup()
    r = client.get(f"{SETUP}?organization=acme", headers=s["headers"])
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert 'name="base_url"' in page
    r = client.post(
        SETUP,
        headers=s["headers"],
        data={"state": field(page, "state"), "base_url": f"{BASE_URL}/", "verify_ssl": "1"},
    )
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    consumer_key, public_key = keys_of(page)
    return {**s, "state": field(page, "state"), "consumer_key": consumer_key, "public_key": public_key}


def authorize(client, s, requests_mock):
    requests_mock.post(f"{BASE_URL}/plugins/servlet/oauth/request-token",
                       text="oauth_token=req-token&oauth_token_secret=req-secret&oauth_callback_confirmed=true")
    return client.post(SETUP, headers=s["headers"], data={"step": "authorize", "state": s["state"]})


def test_guided_install_end_to_end(client, started, requests_mock):
    s = started
    assert s["consumer_key"].startswith("integration-hub-")
    assert s["public_key"].startswith("-----BEGIN PUBLIC KEY-----")

    r = authorize(client, s, requests_mock)

    assert r.status_code == 302
    assert r.headers["Location"] == f"{BASE_URL}/plugins/servlet/oauth/authorize?oauth_token=req-token"
    (req_token,) = requests_mock.request_history
    assert req_token.method == "POST"
    verify(req_token, s["public_key"], s["consumer_key"],
           oauth_callback="http://hub.test/extensions/jira_server/oauth-callback/")
    assert "oauth_token" not in verify(req_token, s["public_key"], s["consumer_key"])

    requests_mock.post(f"{BASE_URL}/plugins/servlet/oauth/access-token",
                       text="oauth_token=acc-token&oauth_token_secret=acc-secret")
    mock_install(requests_mock)
    r = client.get(f"{CALLBACK}?oauth_token=req-token&oauth_verifier=v3r1f13r", headers=s["headers"])

    assert r.status_code == 200, r.get_data(as_text=True)
    assert "connected" in r.get_data(as_text=True)
    _, access, myself, register = requests_mock.request_history
    verify(access, s["public_key"], s["consumer_key"], oauth_token="req-token", oauth_verifier="v3r1f13r")
    verify(myself, s["public_key"], s["consumer_key"], oauth_token="acc-token")
    verify(register, s["public_key"], s["consumer_key"], oauth_token="acc-token")
    assert register.json()["url"].startswith("http://hub.test/extensions/jira_server/issue-updated/")
    assert_valid_requests("jira-dc", requests_mock.request_history, BASE_URL,
                          allow_unlisted=WEBHOOK_PATHS | SERVLETS)

    listed = client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json
    assert [(i["provider"], i["externalId"], i["status"]) for i in listed] == [
        ("jira_server", f"jira.example.org:{s['consumer_key']}", "active")]
    stored = services.get_integration("jira_server", f"jira.example.org:{s['consumer_key']}").metadata
    assert (stored["access_token"], stored["access_token_secret"]) == ("acc-token", "acc-secret")
    assert stored["base_url"] == BASE_URL and stored["verify_ssl"] is True
    assert stored["webhook_id"] == "7" and stored["webhook_secret"]

    # the callback works once
    again = client.get(f"{CALLBACK}?oauth_token=req-token&oauth_verifier=v3r1f13r", headers=s["headers"])
    assert again.status_code == 400


def test_setup_needs_login(client, factories):
    factories.setup()
    r = client.get(f"{SETUP}?organization=acme")
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login?next=")


def test_setup_needs_owner_or_admin(client, factories):
    s = factories.setup()
    member = factories.member(s["org"], "member@example.com", role="member", projects=[s["project"]])
    headers = {"Authorization": f"Bearer {factories.token(member)}"}

    assert client.get(f"{SETUP}?organization=acme", headers=headers).status_code == 403
    assert client.get(f"{SETUP}?organization=nope", headers=s["headers"]).status_code == 403


def test_state_of_another_user_is_refused(client, factories, started):
    admin = factories.member(started["org"], "admin@example.com", role="admin", projects=[started["project"]])
    headers = {"Authorization": f"Bearer {factories.token(admin)}"}

    r = client.post(SETUP, headers=headers, data={"step": "authorize", "state": started["state"]})

    assert r.status_code == 400
    assert "not valid" in r.get_data(as_text=True)


def test_bad_base_url_is_shown_again(client, factories):
    s = factories.setup()
    page = client.get(f"{SETUP}?organization=acme", headers=s["headers"]).get_data(as_text=True)

    r = client.post(
        SETUP, headers=s["headers"], data={"state": field(page, "state"), "base_url": "jira.example.org"}
    )

    assert r.status_code == 400
    assert "must be an http(s) URL" in r.get_data(as_text=True)


def test_request_token_refused_stays_on_keys_page(client, started, requests_mock):
    requests_mock.post(f"{BASE_URL}/plugins/servlet/oauth/request-token", status_code=401,
                       text="oauth_problem=consumer_key_unknown")

    r = client.post(SETUP, headers=started["headers"], data={"step": "authorize", "state": started["state"]})

    assert r.status_code == 400
    assert "401" in r.get_data(as_text=True)
    assert "consumer_key_unknown" not in r.get_data(as_text=True)  # Jira's words are logged, not shown
    assert started["consumer_key"] in r.get_data(as_text=True)


def test_denied_in_jira_installs_nothing(client, started, requests_mock):
    assert authorize(client, started, requests_mock).status_code == 302

    r = client.get(f"{CALLBACK}?oauth_token=req-token&oauth_verifier=denied", headers=started["headers"])

    assert r.status_code == 400
    assert client.get("/api/0/organizations/acme/integrations/", headers=started["headers"]).json == []


def test_unknown_request_token_is_400(client, started, requests_mock):
    assert authorize(client, started, requests_mock).status_code == 302

    r = client.get(f"{CALLBACK}?oauth_token=forged&oauth_verifier=x", headers=started["headers"])

    assert r.status_code == 400
    assert client.get("/api/0/organizations/acme/integrations/", headers=started["headers"]).json == []


def test_jira_unreachable_at_callback_installs_nothing(client, started, requests_mock):
    assert authorize(client, started, requests_mock).status_code == 302
    requests_mock.post(f"{BASE_URL}/plugins/servlet/oauth/access-token",
                       text="oauth_token=acc-token&oauth_token_secret=acc-secret")
    requests_mock.get(f"{BASE_URL}/rest/api/2/myself", exc=requests.exceptions.ConnectionError("down"))

    r = client.get(f"{CALLBACK}?oauth_token=req-token&oauth_verifier=v", headers=started["headers"])

    assert r.status_code == 400
    assert "could not be reached" in r.get_data(as_text=True)
    assert client.get("/api/0/organizations/acme/integrations/", headers=started["headers"]).json == []
