"""Issue 10 items 1 and 2 against the real app: what an admin-supplied Jira base URL may reach
(HUB_OUTBOUND_ALLOW / HUB_OUTBOUND_DENY, checked on the address a connection is opened to), that
a provider's error body never reaches the caller, and that a ticket key cannot steer the path.

Real sockets here (no requests-mock): a small HTTP server on 127.0.0.1 plays Jira.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import func, select

from hub import models as m
from hub.extensions import db
from hub.testing import Factories
from tests.plugins.jira_server.conftest import install, new_issue

INTERNAL_BODY = "internal-service-secret: 8f3e2a; stack trace follows"


class FakeJira(BaseHTTPRequestHandler):
    """Answers the install's two calls and one issue; anything else is a 500 with a revealing body."""

    seen: list[str]

    def _answer(self, status: int, body: Any) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if not isinstance(body, str) else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server's names)
        self.server.seen.append(f"GET {self.path}")  # type: ignore[attr-defined]
        if self.path == "/rest/api/2/myself":
            return self._answer(200, {"name": "admin"})
        if self.path == "/rest/api/2/issue/APP-1":
            return self._answer(200, {"id": "10200", "key": "APP-1", "fields": {"summary": "Crash"}})
        return self._answer(500, INTERNAL_BODY)

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append(f"POST {self.path}")  # type: ignore[attr-defined]
        if self.path == "/rest/webhooks/1.0/webhook":
            return self._answer(201, {"self": "http://jira/rest/webhooks/1.0/webhook/7"})
        return self._answer(500, INTERNAL_BODY)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_jira():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeJira)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def internal_service():
    """An open port that is no HTTP server: it reads a little and writes a banner, then hangs up."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(1024)
                conn.sendall(b"SSH-2.0-OpenSSH_9.6 internal\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    listener.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stored() -> int:
    return int(db.session.scalar(select(func.count()).select_from(m.Integration)) or 0)


@pytest.mark.parametrize("base_url", ["http://169.254.169.254", "http://169.254.169.254:80/latest",
                                      "http://[fd00:ec2::254]", "http://[::ffff:169.254.169.254]",
                                      "http://[fe80::1]:8080"])
def test_a_metadata_address_is_a_400_on_install_and_nothing_is_sent(client, factories, metadata, base_url):
    s = factories.setup()

    r = install(client, s["headers"], {**metadata, "base_url": base_url})

    assert r.status_code == 400, r.json
    assert "HUB_OUTBOUND_ALLOW / HUB_OUTBOUND_DENY" in r.json["detail"]
    assert set(r.json["errors"]) == {"base_url"}
    assert _stored() == 0


def test_private_and_loopback_jira_installs_by_default(client, factories, metadata, fake_jira):
    s = factories.setup()
    base_url = f"http://127.0.0.1:{fake_jira.server_port}"

    r = install(client, s["headers"], {**metadata, "base_url": base_url}, external_id="local:hub-consumer")

    assert r.status_code == 201, r.json
    assert fake_jira.seen == ["GET /rest/api/2/myself", "POST /rest/webhooks/1.0/webhook"]


@pytest.fixture
def strict(make_app):
    """The hub with HUB_OUTBOUND_DENY=loopback (what an operator without self-hosted Jira sets)."""
    app = make_app(HUB_OUTBOUND_DENY="loopback")
    with app.app_context():
        yield app
        db.session.remove()


def test_a_denied_name_is_refused_at_connect_time(strict, metadata, fake_jira):
    """``localhost`` is not an address: the check happens on what it resolves to, before connecting."""
    client, s = strict.test_client(), Factories(strict).setup()

    r = install(client, s["headers"], {**metadata, "base_url": f"http://localhost:{fake_jira.server_port}"})

    assert r.status_code == 400 and "HUB_OUTBOUND_DENY" in r.json["detail"]
    assert fake_jira.seen == [] and _stored() == 0


def test_a_more_specific_allow_reaches_one_address_of_a_denied_range(make_app, metadata, fake_jira):
    app = make_app(HUB_OUTBOUND_DENY="loopback", HUB_OUTBOUND_ALLOW="127.0.0.1")
    with app.app_context():
        client, s = app.test_client(), Factories(app).setup()
        base_url = f"http://127.0.0.1:{fake_jira.server_port}"
        r = install(client, s["headers"], {**metadata, "base_url": base_url})
        assert r.status_code == 201, r.json
        db.session.remove()


def test_allowing_everything_still_never_reaches_the_metadata_service(make_app, metadata):
    app = make_app(HUB_OUTBOUND_ALLOW="0.0.0.0/0,::/0")
    with app.app_context():
        client, s = app.test_client(), Factories(app).setup()
        r = install(client, s["headers"], {**metadata, "base_url": "http://169.254.169.254"})
        assert r.status_code == 400 and "HUB_OUTBOUND" in r.json["detail"]
        db.session.remove()


def test_a_bad_policy_entry_refuses_to_start(make_app):
    with pytest.raises(ValueError, match="HUB_OUTBOUND_DENY"):
        make_app(HUB_OUTBOUND_DENY="private, 10.0.0.0/33")


def test_dns_rebinding_after_install_is_refused_on_the_next_connection(client, factories, metadata, fake_jira,
                                                                       monkeypatch):
    """The name answered 127.0.0.1 at install, later 169.254.169.254: that connection is refused."""
    answers = {"jira.rebind.test": "127.0.0.1"}
    real_getaddrinfo = socket.getaddrinfo

    def resolver(host, port, *args, **kwargs):  # the DNS the attacker controls
        return real_getaddrinfo(answers.get(host, host), port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    s = factories.setup()
    base_url = f"http://jira.rebind.test:{fake_jira.server_port}"
    r = install(client, s["headers"], {**metadata, "base_url": base_url}, external_id="rebind:hub-consumer")
    assert r.status_code == 201, r.json
    group_id = new_issue(client, s)

    answers["jira.rebind.test"] = "169.254.169.254"
    r = client.post(f"/api/0/organizations/acme/issues/{group_id}/external-issues/", headers=s["headers"],
                    json={"integrationId": r.json["id"], "action": "link", "externalIssue": "APP-1"})

    assert r.status_code == 400 and "HUB_OUTBOUND" in r.json["detail"]
    assert fake_jira.seen == ["GET /rest/api/2/myself", "POST /rest/webhooks/1.0/webhook"]
    assert db.session.scalar(select(func.count()).select_from(m.ExternalIssue)) == 0


def test_closed_and_open_ports_read_alike(client, factories, metadata, internal_service):
    s = factories.setup()
    answers = []
    for port in (_closed_port(), internal_service):
        r = install(client, s["headers"], {**metadata, "base_url": f"http://127.0.0.1:{port}"})
        assert r.status_code == 400
        answers.append(r.json)

    assert answers[0] == answers[1]
    assert answers[0]["detail"].startswith("Jira could not be reached while checking the credentials.")
    assert "SSH" not in json.dumps(answers) and _stored() == 0


def test_an_internal_services_error_body_is_never_answered(client, factories, metadata, fake_jira, caplog):
    s = factories.setup()
    base_url = f"http://127.0.0.1:{fake_jira.server_port}/some/internal/app"

    r = install(client, s["headers"], {**metadata, "base_url": base_url})

    assert r.status_code == 400
    assert "500" in r.json["detail"] and "Jira Server" in r.json["detail"]
    assert "internal-service-secret" not in json.dumps(r.json)
    assert any("internal-service-secret" in getattr(rec, "provider_message", "") for rec in caplog.records)
    assert _stored() == 0


def test_an_outbound_job_to_a_denied_address_fails_once_with_a_clear_error(
        client, factories, metadata, run_jobs, outbox_entries):
    s = factories.setup()
    jira = factories.integration(s["org"], "jira_server", "meta:hub-consumer",
                                 {**metadata, "base_url": "http://169.254.169.254"},
                                 config={"sync_status_forward": True})
    group = factories.group(s["project"])
    factories.link(group, jira, "APP-1")

    r = client.put(f"/api/0/organizations/acme/issues/{group.id}/", headers=s["headers"],
                   json={"status": "resolved"})
    assert r.status_code == 200
    run_jobs(now=True)

    [entry] = outbox_entries("sync_status_outbound")
    assert (entry["status"], entry["attempts"]) == ("failed", 1)
    assert "not allowed by the hub's outbound policy" in entry["last_error"]


# -- item 2: a ticket key never steers the path --------------------------------------------------


@pytest.mark.parametrize("key", ["../../../../internal/x?y=", "APP-1/../../x", "APP-1?expand=x", "..", "",
                                 "app-1", "APP-1#x", "APP-1 ", "A-1"])
def test_a_key_that_is_not_a_jira_key_is_a_400_and_nothing_is_sent(client, installed, requests_mock, key):
    s = installed
    group_id = new_issue(client, s)

    r = client.post(f"/api/0/organizations/acme/issues/{group_id}/external-issues/", headers=s["headers"],
                    json={"integrationId": s["integration_id"], "action": "link", "externalIssue": key})

    assert r.status_code == 400, r.json
    assert "externalIssue" in r.json["errors"]
    assert requests_mock.request_history == []
    assert db.session.scalar(select(func.count()).select_from(m.ExternalIssue)) == 0


def test_a_numeric_issue_id_links(client, installed, requests_mock):
    s = installed
    group_id = new_issue(client, s)
    requests_mock.get("https://jira.example.org/rest/api/2/issue/10200",
                      json={"id": "10200", "key": "APP-7", "fields": {"summary": "Crash"}})

    r = client.post(f"/api/0/organizations/acme/issues/{group_id}/external-issues/", headers=s["headers"],
                    json={"integrationId": s["integration_id"], "action": "link", "externalIssue": "10200"})

    assert r.status_code == 201, r.json
    assert r.json["key"] == "APP-7"


def test_a_key_jira_answers_on_create_is_checked_too(client, installed, requests_mock):
    """A base URL that answers a create with ``"key": "../../x"`` does not get that key stored (and
    later used in paths)."""
    s = installed
    group_id = new_issue(client, s)
    requests_mock.post("https://jira.example.org/rest/api/2/issue", status_code=201,
                       json={"id": "1", "key": "../../admin", "self": "x"})

    r = client.post(f"/api/0/organizations/acme/issues/{group_id}/external-issues/", headers=s["headers"],
                    json={"integrationId": s["integration_id"], "action": "create",
                          "fields": {"project": "10000", "issuetype": "10001"}})

    assert r.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(m.ExternalIssue)) == 0


def test_the_integrations_error_is_for_owners_and_admins(client, installed, requests_mock, factories):
    s = installed
    member = factories.member(s["org"], "dev@example.com", projects=[s["project"]])
    member_headers = {"Authorization": f"Bearer {factories.token(member)}"}
    group_id = new_issue(client, s)
    requests_mock.get("https://jira.example.org/rest/api/2/issue/APP-1", status_code=401,
                      json={"errorMessages": ["oauth_problem=token_rejected"]})

    r = client.post(f"/api/0/organizations/acme/issues/{group_id}/external-issues/", headers=member_headers,
                    json={"integrationId": s["integration_id"], "action": "link", "externalIssue": "APP-1"})
    assert r.status_code == 400 and "token_rejected" not in json.dumps(r.json)

    [as_member] = client.get("/api/0/organizations/acme/integrations/", headers=member_headers).json
    [as_owner] = client.get("/api/0/organizations/acme/integrations/", headers=s["headers"]).json
    assert as_member["status"] == as_owner["status"] == "needs_attention"
    assert as_member["error"] is None
    assert "token_rejected" in as_owner["error"]

