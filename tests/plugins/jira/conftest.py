"""Drive the Jira Cloud plugin the way Jira does: RS256 signed-install callbacks whose public key
is served at HUB_JIRA_INSTALL_KEYS_URL/<kid>, HS256 Connect JWTs with a real qsh, and the
lifecycle and webhook bodies built in ./payloads.py."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from plugins.jira.connect import query_string_hash
from tests.plugins.jira.payloads import CLIENT_KEY, SCENARIOS, SECRET, SITE

APP_KEY = "io.integration-hub.jira"
KEYS_URL = "https://connect-install-keys.atlassian.com"
KID = "0e50fccb-239d-4991-a5db-dc850ba3f236"
BASE = "http://hub.test"
ALL_SYNC = {
    "sync_status_forward": True,
    "sync_status_reverse": True,
    "sync_assignee_outbound": True,
    "sync_assignee_inbound": True,
    "sync_comments": True,
}


def payload(name: str, **changes: Any) -> dict[str, Any]:
    """A fresh body of the named payloads.py scenario, with top-level keys replaced."""
    data = SCENARIOS[name]()
    data.update(changes)
    return data


@pytest.fixture(scope="session")
def rsa_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def install_keys(requests_mock: Any, rsa_key: Any) -> Any:
    """Atlassian's key CDN: serves our public key under KID, 404 for any other kid."""
    pem = (
        rsa_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    requests_mock.get(f"{KEYS_URL}/{KID}", text=pem)
    requests_mock.get(requests_mock_any_key(), status_code=404, text="Not Found")
    return pem


def requests_mock_any_key() -> Any:
    import re

    return re.compile(rf"^{re.escape(KEYS_URL)}/(?!{KID}$).*")


def install_token(
    rsa_key: Any,
    path: str,
    *,
    iss: str = CLIENT_KEY,
    kid: str | None = KID,
    aud: str = BASE,
    exp_in: int = 180,
    qsh_path: str | None = None,
    key: Any = None,
) -> str:
    now = int(time.time())
    claims = {
        "iss": iss,
        "aud": aud,
        "iat": now,
        "exp": now + exp_in,
        "qsh": query_string_hash("POST", qsh_path or path),
        "sub": "557058:abc",
    }
    headers = {"kid": kid} if kid else {}
    return jwt.encode(claims, key or rsa_key, algorithm="RS256", headers=headers)


def connect_token(
    method: str,
    path: str,
    query: str = "",
    *,
    iss: str = CLIENT_KEY,
    secret: str = SECRET,
    exp_in: int = 180,
    qsh: str | None = None,
) -> str:
    now = int(time.time())
    claims = {
        "iss": iss,
        "iat": now,
        "exp": now + exp_in,
        "sub": "557058:abc",
        "qsh": qsh or query_string_hash(method, path, query),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def lifecycle(client: Any, rsa_key: Any, event: str, body: Any = None, **token_kw: Any) -> Any:
    path = f"/extensions/jira/{event}/"
    token = install_token(rsa_key, path, **token_kw)
    data = (
        json.dumps(body if body is not None else payload("installed", eventType=event))
        if body != b""
        else b""
    )
    return client.post(
        path, data=data, content_type="application/json", headers={"Authorization": f"JWT {token}"}
    )


def send_webhook(client: Any, body: dict[str, Any] | bytes, **token_kw: Any) -> Any:
    path = "/extensions/jira/issue-updated/"
    token = connect_token("POST", path, **token_kw)
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(
        path, data=data, content_type="application/json", headers={"Authorization": f"JWT {token}"}
    )


def decode_outbound(request: Any) -> dict[str, Any]:
    """Check a captured call to Jira carries a valid Connect JWT for exactly that request."""
    scheme, _, token = request.headers["Authorization"].partition(" ")
    assert scheme == "JWT"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    url = urlsplit(request.url)
    assert claims["iss"] == APP_KEY
    assert claims["exp"] - claims["iat"] == 180
    assert claims["qsh"] == query_string_hash(request.method, url.path, url.query)
    return claims


@pytest.fixture
def env(factories: Any) -> dict[str, Any]:
    """acme/backend (owner + a project member Jess) with the Jira site installed and attached, syncing all."""
    s = factories.setup()
    s["jess"] = factories.member(s["org"], "jess@example.com", projects=[s["project"]], name="Jess")
    s["jira"] = factories.integration(
        s["org"],
        "jira",
        CLIENT_KEY,
        {"base_url": SITE, "shared_secret": SECRET, "client_key": CLIENT_KEY},
        config=ALL_SYNC,
        name="example.atlassian.net",
    )
    return s


def new_issue(
    client: Any, headers: dict[str, str], message: str = "ZeroDivisionError: division by zero"
) -> str:
    r = client.post(
        "/api/0/projects/acme/backend/events/",
        json={"message": message, "culprit": "app.views.div"},
        headers=headers,
    )
    assert r.status_code == 201, r.json
    return str(r.json["groupId"])


def jira_issue(
    key: str = "APP-123",
    status_id: str = "10000",
    category: str = "new",
    summary: str = "ZeroDivisionError: division by zero",
) -> dict[str, Any]:
    return {
        "id": "10042",
        "key": key,
        "self": f"{SITE}/rest/api/3/issue/10042",
        "fields": {
            "summary": summary,
            "project": {"id": "10100", "key": "APP"},
            "status": {
                "id": status_id,
                "name": {"new": "To Do", "done": "Done"}.get(category, "In Progress"),
                "statusCategory": {"key": category},
            },
            "description": {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Boom"}]}],
            },
        },
    }


def link(
    client: Any,
    headers: dict[str, str],
    gid: str,
    integration_id: Any,
    requests_mock: Any,
    key: str = "APP-123",
) -> Any:
    requests_mock.get(f"{SITE}/rest/api/3/issue/{key}", json=jira_issue(key))
    r = client.post(
        f"/api/0/organizations/acme/issues/{gid}/external-issues/",
        json={"integrationId": str(integration_id), "action": "link", "externalIssue": key},
        headers=headers,
    )
    assert r.status_code == 201, r.json
    requests_mock.reset_mock()
    return r.json


def deliveries(client: Any) -> list[dict[str, Any]]:
    """``hub deliveries --json``, oldest first."""
    out = client.application.test_cli_runner().invoke(args=["deliveries", "--json"])
    assert out.exit_code == 0, out.output
    return sorted(json.loads(out.output), key=lambda d: d["id"])


def recorded_changes(client: Any) -> list[dict[str, Any]]:
    """Every recorded change of every delivery, oldest first (as ``hub deliveries --json`` shows them)."""
    return [c for d in deliveries(client) for c in d["changes"]]


def make_retries_due() -> None:
    """A change waiting for its retry (a lookup failed) is due now: the backoff has passed."""
    from sqlalchemy import update

    from hub import models as m
    from hub.extensions import db

    pending = m.InboundChange.state == "pending"
    db.session.execute(update(m.InboundChange).where(pending).values(not_before=None))
    db.session.commit()


def assert_accepted(response: Any) -> None:
    """The ack: recorded, applied later by the worker."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json == {"detail": "accepted"}
