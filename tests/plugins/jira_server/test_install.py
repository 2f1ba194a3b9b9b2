"""Manual install through the REST API: credentials checked, webhook registered, errors clean."""

from __future__ import annotations

import jwt
import pytest
import requests

from hub import services
from tests.plugins.jira_server.conftest import (
    BASE_URL,
    EXTERNAL_ID,
    _pem_pair,
    assert_all_signed_and_valid,
    assert_oauth1_signed,
    install,
    mock_install,
)


def test_install_registers_signed_webhook(client, factories, requests_mock, metadata, rsa_keys):
    s = factories.setup()
    mock_install(requests_mock)

    r = install(client, s["headers"], metadata)

    assert r.status_code == 201, r.json
    assert r.json["provider"] == "jira_server"
    assert r.json["externalId"] == EXTERNAL_ID
    assert r.json["status"] == "active"
    assert "metadata" not in r.json
    myself, register = requests_mock.request_history
    assert (myself.method, myself.url) == ("GET", f"{BASE_URL}/rest/api/2/myself")
    assert (register.method, register.url) == ("POST", f"{BASE_URL}/rest/webhooks/1.0/webhook")
    body = register.json()
    assert body["events"] == ["jira:issue_created", "jira:issue_updated"]
    assert body["excludeBody"] is False
    assert body["name"] == "Integration Hub (Jira DC)"
    prefix = "http://hub.test/extensions/jira_server/issue-updated/"
    assert body["url"].startswith(prefix) and body["url"].endswith("/")
    token = body["url"][len(prefix):-1]
    stored = services.get_integration("jira_server", EXTERNAL_ID)
    assert jwt.decode(token, stored.metadata["webhook_secret"], algorithms=["HS256"]) == {"id": EXTERNAL_ID}
    assert stored.metadata["webhook_id"] == "7"
    assert stored.metadata["webhook_self"] == f"{BASE_URL}/rest/webhooks/1.0/webhook/7"
    assert stored.metadata["private_key"].strip() == metadata["private_key"].strip()
    for request in requests_mock.request_history:
        assert_oauth1_signed(request, rsa_keys[1])
    assert_all_signed_and_valid(requests_mock.request_history, rsa_keys[1])


def test_each_integration_gets_its_own_webhook_secret(client, factories, requests_mock, metadata, rsa_keys):
    s = factories.setup()
    mock_install(requests_mock)
    mock_install(requests_mock, "https://jira2.example.org/jira", webhook_id=9)

    assert install(client, s["headers"], metadata).status_code == 201
    second = {**metadata, "base_url": "https://jira2.example.org/jira/"}
    assert (
        install(client, s["headers"], second, external_id="jira2.example.org/jira:hub-consumer").status_code
        == 201
    )

    r = client.get("/api/0/organizations/acme/integrations/", headers=s["headers"])
    assert sorted(i["externalId"] for i in r.json) == ["jira.example.org:hub-consumer",
                                                        "jira2.example.org/jira:hub-consumer"]
    one = services.get_integration("jira_server", EXTERNAL_ID)
    two = services.get_integration("jira_server", "jira2.example.org/jira:hub-consumer")
    assert one.metadata["webhook_secret"] != two.metadata["webhook_secret"]
    assert two.metadata["base_url"] == "https://jira2.example.org/jira"
    assert two.metadata["webhook_id"] == "9"
    assert_all_signed_and_valid(requests_mock.request_history, rsa_keys[1], "https://jira2.example.org/jira")


def test_private_key_not_pem_is_400_and_nothing_stored(client, factories, requests_mock, metadata):
    s = factories.setup()
    mock_install(requests_mock)

    r = install(client, s["headers"], {**metadata, "private_key": "not a key"})

    assert r.status_code == 400
    assert "private key is not a valid" in r.json["detail"]
    assert "private_key" in r.json["errors"]
    assert requests_mock.request_history == []
    assert client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json == []


def test_missing_credentials_is_400(client, factories, requests_mock, metadata):
    s = factories.setup()
    incomplete = {k: v for k, v in metadata.items() if k != "access_token_secret"}

    r = install(client, s["headers"], incomplete)

    assert r.status_code == 400
    assert r.json["errors"] == {"access_token_secret": ["This field is required."]}
    assert requests_mock.request_history == []


def test_jira_unreachable_is_clear_400_and_nothing_stored(client, factories, requests_mock, metadata):
    s = factories.setup()
    requests_mock.get(f"{BASE_URL}/rest/api/2/myself",
                      exc=requests.exceptions.ConnectionError("refused 10.0.0.7"))

    r = install(client, s["headers"], metadata)

    assert r.status_code == 400
    assert "Jira could not be reached" in r.json["detail"] and "10.0.0.7" not in str(r.json)
    assert client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json == []
    assert services.get_integration("jira_server", EXTERNAL_ID) is None


def test_jira_refusing_credentials_is_400(client, factories, requests_mock, metadata):
    s = factories.setup()
    requests_mock.get(f"{BASE_URL}/rest/api/2/myself", status_code=401,
                      json={"errorMessages": ["oauth_problem=signature_invalid"]})

    r = install(client, s["headers"], metadata)

    assert r.status_code == 400
    assert "refused the OAuth credentials" in r.json["detail"] and "401" in r.json["detail"]
    assert "signature_invalid" not in str(r.json)  # Jira's words are logged, never answered
    assert client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json == []


def test_webhook_registration_refused_is_400_and_nothing_stored(client, factories, requests_mock, metadata):
    s = factories.setup()
    requests_mock.get(f"{BASE_URL}/rest/api/2/myself", json={"name": "bob"})
    requests_mock.post(f"{BASE_URL}/rest/webhooks/1.0/webhook", status_code=403,
                       json={"message": "You must be an administrator"})

    r = install(client, s["headers"], metadata)

    assert r.status_code == 400
    assert "registering the webhook" in r.json["detail"]
    assert "must be a Jira administrator" in r.json["detail"]
    assert client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json == []


def test_jira_without_the_webhooks_api_installs_with_a_warning(client, factories, requests_mock, metadata):
    """The official DC REST spec has no webhooks endpoint; a Jira answering 404 there still installs."""
    from hub import services

    s = factories.setup()
    requests_mock.get(f"{BASE_URL}/rest/api/2/myself", json={"name": "bob"})
    requests_mock.post(
        f"{BASE_URL}/rest/webhooks/1.0/webhook", status_code=404, json={"message": "Not found"}
    )

    r = install(client, s["headers"], metadata)

    assert r.status_code == 201, r.json
    stored = services.get_integration("jira_server", r.json["externalId"])
    [warning] = stored.metadata["install_warnings"]
    assert "could not be registered" in warning and "/extensions/jira_server/issue-updated/" in warning
    assert stored.metadata["webhook_secret"] and stored.metadata["webhook_id"] == ""
    [listed] = client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json
    assert listed["warnings"] == [warning] and listed["status"] == "active"
    assert stored.metadata["access_token"] not in str(listed)


def test_uninstall_deletes_the_webhook(client, factories, requests_mock, metadata, rsa_keys):
    s = factories.setup()
    mock_install(requests_mock)
    integration_id = install(client, s["headers"], metadata).json["id"]
    requests_mock.delete(f"{BASE_URL}/rest/webhooks/1.0/webhook/7", status_code=204)

    r = client.delete(f"/api/0/organizations/acme/integrations/{integration_id}/", headers=s["headers"])

    assert r.status_code == 204
    last = requests_mock.request_history[-1]
    assert (last.method, last.url) == ("DELETE", f"{BASE_URL}/rest/webhooks/1.0/webhook/7")
    assert_oauth1_signed(last, rsa_keys[1])
    assert_all_signed_and_valid(requests_mock.request_history, rsa_keys[1])
    assert client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json == []


def test_provider_info_features(app):
    infos = app.extensions["hub"].hook.provider_info()
    mine = next(i for i in infos if i and i["key"] == "jira_server")
    assert set(mine["features"]) == {"issue-sync", "status-sync", "assignee-sync"}


def test_signature_check_detects_tampering_and_other_keys(
    client, factories, requests_mock, metadata, rsa_keys
):
    """The tests' OAuth1 verification is real: another key or a changed URL fails it."""
    s = factories.setup()
    mock_install(requests_mock)
    install(client, s["headers"], metadata)
    myself = requests_mock.request_history[0]
    assert_oauth1_signed(myself, rsa_keys[1])
    with pytest.raises(AssertionError, match="bad RSA-SHA1 signature"):
        assert_oauth1_signed(myself, _pem_pair()[1])
    myself.url = myself.url + "?expand=groups"
    with pytest.raises(AssertionError, match="bad RSA-SHA1 signature"):
        assert_oauth1_signed(myself, rsa_keys[1])


def test_reinstall_replaces_the_webhook(client, factories, requests_mock, metadata, rsa_keys):
    s = factories.setup()
    mock_install(requests_mock)
    assert install(client, s["headers"], metadata).status_code == 201
    first_secret = services.get_integration("jira_server", EXTERNAL_ID).metadata["webhook_secret"]
    mock_install(requests_mock, webhook_id=8)
    requests_mock.delete(f"{BASE_URL}/rest/webhooks/1.0/webhook/7", status_code=204)

    r = install(client, s["headers"], {**metadata, "access_token": "access-token-2"})

    assert r.status_code == 200, r.json
    stored = services.get_integration("jira_server", EXTERNAL_ID).metadata
    assert stored["webhook_id"] == "8" and stored["access_token"] == "access-token-2"
    assert stored["webhook_secret"] != first_secret
    assert [(q.method, q.url.rsplit("/rest/", 1)[1]) for q in requests_mock.request_history[2:]] == [
        ("GET", "api/2/myself"), ("POST", "webhooks/1.0/webhook"), ("DELETE", "webhooks/1.0/webhook/7")]
    assert_oauth1_signed(requests_mock.request_history[-1], rsa_keys[1], token="access-token-1")
    assert_all_signed_and_valid(requests_mock.request_history, rsa_keys[1])


def test_install_warnings_are_shown_to_admins_only(client, factories, requests_mock, metadata):
    s = factories.setup()
    member = factories.member(s["org"], "dev@example.com")
    requests_mock.get(f"{BASE_URL}/rest/api/2/myself", json={"name": "bob"})
    requests_mock.post(
        f"{BASE_URL}/rest/webhooks/1.0/webhook", status_code=404, json={"message": "Not found"}
    )
    assert install(client, s["headers"], metadata).status_code == 201
    [as_owner] = client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json
    assert len(as_owner["warnings"]) == 1
    member_headers = {"Authorization": f"Bearer {factories.token(member)}"}
    [as_member] = client.get("/api/0/organizations/acme/integrations/", headers=member_headers).json
    assert as_member["warnings"] == []
