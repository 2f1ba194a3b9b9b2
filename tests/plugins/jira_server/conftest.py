"""Shared pieces for the Jira Server plugin tests: keys, credentials, OAuth1 verification, install."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from oauthlib.oauth1.rfc5849 import signature, utils

from tests.support.specs import assert_valid_requests

BASE_URL = "https://jira.example.org"
CONSUMER_KEY = "hub-consumer"
EXTERNAL_ID = "jira.example.org:hub-consumer"
WEBHOOK_PATHS = {"/rest/webhooks/1.0/webhook", "/rest/webhooks/1.0/webhook/{id}"}


def _pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@pytest.fixture(scope="session")
def rsa_keys() -> tuple[str, str]:
    """The RSA key pair of the Jira application link: (private PEM, public PEM)."""
    return _pem_pair()


@pytest.fixture
def metadata(rsa_keys: tuple[str, str]) -> dict[str, Any]:
    return {"base_url": BASE_URL, "consumer_key": CONSUMER_KEY, "private_key": rsa_keys[0],
            "access_token": "access-token-1", "access_token_secret": "access-secret-1", "verify_ssl": True}


def oauth_params(request: Any) -> dict[str, str]:
    """The ``oauth_*`` parameters of a captured request's ``Authorization: OAuth ...`` header."""
    header = request.headers.get("Authorization", "")
    assert header.startswith("OAuth "), (
        f"{request.method} {request.url} is not OAuth1-signed: {header[:20]!r}"
    )
    return {
        k: utils.unescape(v) for k, v in utils.parse_authorization_header(header) if k.startswith("oauth_")
    }


def assert_oauth1_signed(request: Any, public_key: str, *, token: str | None = "access-token-1",
                         consumer_key: str = CONSUMER_KEY) -> dict[str, str]:
    """Verify a captured request's RSA-SHA1 signature exactly as Jira does (oauthlib's server side)."""
    params = oauth_params(request)
    assert params["oauth_signature_method"] == "RSA-SHA1"
    assert params["oauth_consumer_key"] == consumer_key
    if token is not None:
        assert params.get("oauth_token") == token
    from oauthlib.common import Request

    body = (
        request.body if "application/x-www-form-urlencoded" in request.headers.get("Content-Type", "") else ""
    )
    oauth_request = Request(request.url, request.method, body, dict(request.headers))
    oauth_request.params = [
        (k, v) for k, v in signature.collect_parameters(
            uri_query=urlsplit(request.url).query, body=body, headers=dict(request.headers),
            exclude_oauth_signature=True, with_realm=False)
    ]
    oauth_request.signature = params["oauth_signature"]
    assert signature.verify_rsa_sha1(oauth_request, public_key), f"bad RSA-SHA1 signature on {request.url}"
    return params


def assert_all_signed_and_valid(history: list[Any], public_key: str, base_url: str = BASE_URL) -> int:
    """Every request to Jira is OAuth1 RSA-SHA1 signed with the link's key and valid for the DC spec."""
    to_jira = [r for r in history if r.url.startswith(base_url)]
    for request in to_jira:
        assert_oauth1_signed(request, public_key, token=None)
    checked = assert_valid_requests("jira-dc", history, base_url, allow_unlisted=WEBHOOK_PATHS)
    assert checked == len(to_jira) > 0
    return checked


def mock_install(requests_mock: Any, base_url: str = BASE_URL, webhook_id: int = 7) -> None:
    """Jira answering the install's two calls: who am I, and the webhook registration."""
    requests_mock.get(
        f"{base_url}/rest/api/2/myself", json={"name": "admin", "emailAddress": "admin@example.org"}
    )
    requests_mock.post(f"{base_url}/rest/webhooks/1.0/webhook", status_code=201, json={
        "self": f"{base_url}/rest/webhooks/1.0/webhook/{webhook_id}", "name": "Integration Hub",
        "url": "ignored", "events": ["jira:issue_created", "jira:issue_updated"], "enabled": True})


def install(
    client: Any, headers: dict[str, str], metadata: dict[str, Any], external_id: str = EXTERNAL_ID
) -> Any:
    return client.post("/api/0/organizations/acme/integrations/", headers=headers,
                       json={"provider": "jira_server", "externalId": external_id, "name": "Jira DC",
                             "metadata": metadata})


@pytest.fixture
def installed(client: Any, factories: Any, requests_mock: Any, metadata: dict[str, Any]) -> dict[str, Any]:
    """acme with a project, its owner, and a Jira Server installed through the API (webhook URL captured)."""
    s = factories.setup()
    mock_install(requests_mock)
    r = install(client, s["headers"], metadata)
    assert r.status_code == 201, r.json
    register = next(q for q in requests_mock.request_history if q.url.endswith("/rest/webhooks/1.0/webhook"))
    webhook_url = register.json()["url"]
    requests_mock.reset_mock()
    return {**s, "integration_id": r.json["id"], "webhook_url": webhook_url,
            "webhook_path": webhook_url[len("http://hub.test"):]}


def configure(client: Any, s: dict[str, Any], **config: bool) -> None:
    r = client.put(f"/api/0/organizations/acme/integrations/{s['integration_id']}/", headers=s["headers"],
                   json={"config": config})
    assert r.status_code == 200, r.json


def new_issue(client: Any, s: dict[str, Any], message: str = "KeyError: 'user'") -> str:
    r = client.post("/api/0/projects/acme/backend/events/", headers=s["headers"],
                    json={"message": message, "culprit": "app.views.profile"})
    assert r.status_code == 201, r.json
    return str(r.json["groupId"])


def link(client: Any, s: dict[str, Any], requests_mock: Any, group_id: str, key: str = "APP-1") -> Any:
    requests_mock.get(f"{BASE_URL}/rest/api/2/issue/{key}", json={
        "id": "10200", "key": key, "fields": {
            "summary": "KeyError: 'user'", "description": "plain text",
            "status": {"id": "10101", "name": "In Progress", "statusCategory": {"key": "indeterminate"}},
            "project": {"id": "10000", "key": "APP"}}})
    r = client.post(f"/api/0/organizations/acme/issues/{group_id}/external-issues/", headers=s["headers"],
                    json={"integrationId": s["integration_id"], "action": "link", "externalIssue": key})
    assert r.status_code == 201, r.json
    return r
