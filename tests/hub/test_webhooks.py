"""The /extensions route, the plugin manager and the pip-installed third-party plugin."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from sqlalchemy import select

from hub import WebhookResponse, hookimpl
from hub import models as m
from hub.extensions import db
from hub.plugins import PluginStartupError, build_plugin_manager
from tests.hub.conftest import tracker_webhook


def test_unknown_provider_is_404(client, env):
    r = client.post("/extensions/nope/hook/", json={})
    assert r.status_code == 404 and r.json["detail"]


def test_body_over_one_mib_is_413(client, env):
    r = client.post("/extensions/tracker/hook/", data=b"x" * (1024 * 1024 + 1))
    assert r.status_code == 413


def test_plugin_exception_is_a_recorded_500_without_trace(client, env, caplog):
    with caplog.at_level(logging.ERROR):
        r = client.post("/extensions/tracker/boom/", data=b"{}", headers={"Authorization": "Bearer secret-x"})
    assert r.status_code == 500 and "Traceback" not in r.get_data(as_text=True)
    assert r.json["detail"].startswith("Internal error")
    delivery = db.session.scalar(select(m.WebhookDelivery))
    assert delivery.outcome == "error" and "tracker plugin bug" in delivery.error
    assert delivery.headers["Authorization"] == "[redacted]"  # stored without the secret
    assert any(r.getMessage() == "webhook.plugin-error" for r in caplog.records)


def test_bad_token_rejected_and_recorded(client, env):
    r = tracker_webhook(client, {"key": "TR-1"}, token="wrong")
    assert r.status_code == 401
    assert db.session.scalar(select(m.WebhookDelivery.outcome)) == "rejected"
    runner = client.application.test_cli_runner()
    out = runner.invoke(args=["deliveries", "--failed"])
    assert "tracker" in out.output and "rejected" in out.output


def test_replay_reprocesses_a_stored_delivery(client, env, factories):
    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    tracker_webhook(client, {"key": "TR-1", "status": "closed", "category": "done"})
    client.put(f"/api/0/organizations/acme/issues/{group.id}/", json={"status": "unresolved"}, headers=env["headers"])
    delivery_id = db.session.scalar(select(m.WebhookDelivery.id))
    out = client.application.test_cli_runner().invoke(args=["replay", str(delivery_id)])
    assert out.output.startswith("200"), out.output
    db.session.expire_all()
    assert db.session.get(m.Group, group.id).status == "resolved"
    copy = db.session.scalars(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id.desc())).first()
    assert copy.replay_of == delivery_id and copy.outcome == "processed"


def test_third_party_plugin_is_listed_with_its_hooks(app):
    out = app.test_cli_runner().invoke(args=["plugins", "--json"])
    rows = {json.loads(line)["key"]: json.loads(line) for line in out.output.splitlines()}
    tracker = rows["tracker"]
    assert tracker["distribution"] == "hub-tracker" and tracker["version"] == "0.3.0"
    assert {"on_webhook", "sync_status_outbound", "notify_activity"} <= set(tracker["hooks"])
    assert {"jira", "jira_server", "slack", "discord"} <= set(rows)
    assert app.extensions["hub"].providers()["tracker"]["name"] == "Tracker"


class Duplicate:
    @hookimpl
    def provider_info(self) -> dict[str, Any]:
        return {"key": "tracker", "name": "Another tracker", "features": []}


class Misspelled:
    @hookimpl
    def on_webhok(self, provider: str) -> None:  # not a hook of the spec
        return None


class Echo:
    name = "echo"

    @hookimpl
    def provider_info(self) -> dict[str, Any]:
        return {"key": "echo", "name": "Echo", "features": ["notifications"]}

    @hookimpl
    def on_webhook(self, provider: str, endpoint: str, request: Any) -> WebhookResponse | None:
        if provider != "echo":
            return None
        return WebhookResponse(status=202, json={"endpoint": endpoint, "method": request.method,
                                                 "query": request.query.get("a")})


def test_two_plugins_claiming_one_provider_are_refused():
    with pytest.raises(PluginStartupError, match="tracker"):
        build_plugin_manager({"HUB_PLUGINS": [Duplicate()]})


def test_unknown_hook_is_refused_at_start():
    from pluggy import PluginValidationError

    with pytest.raises(PluginValidationError):
        build_plugin_manager({"HUB_PLUGINS": [Misspelled()]})


def test_registered_plugin_answers_its_endpoint(client, register_plugin):
    register_plugin(Echo())
    r = client.get("/extensions/echo/some/path/?a=1")
    assert r.status_code == 202 and r.json == {"endpoint": "some/path/", "method": "GET", "query": "1"}


def test_plugin_managers_are_per_app(make_app, register_plugin):
    register_plugin(Echo())
    other = make_app()
    assert "echo" not in other.extensions["hub"].providers()


def test_trace_plugins_logs_hook_calls(make_app, caplog):
    app = make_app(HUB_TRACE_PLUGINS=True)
    with caplog.at_level(logging.INFO, logger="hub.plugins"):
        app.test_client().post("/extensions/tracker/hook/", data=b"{}")
    calls = [r for r in caplog.records if r.getMessage() == "plugin.hook-call"]
    assert calls and calls[0].hook == "on_webhook"
    assert any(r.getMessage() == "plugin.hook-result" for r in caplog.records)


def test_every_hook_is_documented():
    import inspect

    from hub import hookspecs

    doc = open("docs/plugin_hooks.md").read()
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction):
        if not hasattr(fn, "hub_spec"):
            continue
        assert fn.__doc__ and "**Called**" in fn.__doc__ and "**Result**" in fn.__doc__, name
        signature = f"{name}({', '.join(inspect.signature(fn).parameters)})"
        assert signature in doc, f"docs/plugin_hooks.md lacks {signature}"


def test_secret_path_segments_are_redacted_in_the_log_but_replayable(client, register_plugin):
    register_plugin(Echo())
    token = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6IjEifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    r = client.post(f"/extensions/echo/issue-updated/{token}/", data=b"{}")
    assert r.status_code == 202 and r.json["endpoint"] == f"issue-updated/{token}/"
    delivery = db.session.scalar(select(m.WebhookDelivery))
    assert delivery.endpoint == "issue-updated/[redacted]/" and token not in delivery.secret_headers
    out = client.application.test_cli_runner().invoke(args=["replay", str(delivery.id)])
    assert out.output.startswith("202") and token in out.output


class Prover:
    """A provider that recognises tokens it signed (here: the literal "signed-by-tracker")."""

    @hookimpl
    def verify_link_token(self, integration: Any, token: str) -> bool | None:
        if integration.provider != "tracker":
            return None
        return token == "signed-by-tracker"


def test_another_orgs_account_attaches_only_with_a_provider_signed_token(client, env, factories, register_plugin):
    register_plugin(Prover(), name="prover")
    other = factories.setup(org_slug="globex", email="boss@globex.com")
    body = {"provider": "tracker", "externalId": "site-1", "metadata": {"base_url": "https://t"}}
    url = "/api/0/organizations/globex/integrations/"
    assert client.post(url, json={**body, "linkToken": "forged"}, headers=other["headers"]).status_code == 409
    r = client.post(url, json={**body, "linkToken": "signed-by-tracker"}, headers=other["headers"])
    assert r.status_code == 201 and r.json["externalId"] == "site-1"


def test_a_plugin_that_cannot_be_imported_is_named_with_its_distribution(tmp_path, monkeypatch):
    """A distribution whose package was deleted (a stale editable install): a clear start-up error."""
    dist = tmp_path / "hub_gone-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hub-gone\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[hub.plugins]\ngone = hub_gone_missing_module\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginStartupError, match=r"plugin 'gone' .* hub-gone cannot be imported.*pip uninstall hub-gone"):
        build_plugin_manager({})


def test_trace_never_logs_install_credentials(make_app, caplog, factories):
    app = make_app(HUB_TRACE_PLUGINS=True)
    with app.app_context():
        s = factories.setup()
        with caplog.at_level(logging.INFO, logger="hub.plugins"):
            r = app.test_client().post("/api/0/organizations/acme/integrations/", headers=s["headers"], json={
                "provider": "tracker", "externalId": "t-9",
                "metadata": {"base_url": "https://t", "token": "tracker-secret-value"}})
        assert r.status_code == 201
        lines = [str(rec.__dict__) for rec in caplog.records if rec.getMessage().startswith("plugin.hook")]
        assert any("install_integration" in line for line in lines)
        assert not any("tracker-secret-value" in line for line in lines)


def test_cli_survives_a_broken_plugin_install(tmp_path):
    """`hub plugin new` works and app commands fail with one clear line when a plugin cannot be imported."""
    import os
    import subprocess
    import sys

    dist = tmp_path / "site" / "hub_gone-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hub-gone\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[hub.plugins]\ngone = hub_gone_missing_module\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
           "HUB_REDIS_URL": "redis://127.0.0.1:1/0"}
    run = [sys.executable, "-c", "from hub.cli import main; main()"]
    new = subprocess.run([*run, "plugin", "new", "acme", "--directory", str(tmp_path)], env=env,
                         capture_output=True, text=True, timeout=60)
    assert new.returncode == 0, new.stderr
    assert (tmp_path / "hub-acme" / "setup.cfg").exists()
    listing = subprocess.run([*run, "plugins"], env=env, capture_output=True, text=True, timeout=60)
    assert listing.returncode == 1
    assert "Error: plugin 'gone'" in listing.stderr and "pip uninstall hub-gone" in listing.stderr
    assert "Traceback" not in listing.stderr


def test_a_provider_install_detaches_unproven_claims_by_hand(client, factories, register_plugin):
    from hub import services

    register_plugin(Prover(), name="prover")
    squatter = factories.setup(org_slug="squat", email="x@squat.example")
    owner = factories.setup(org_slug="owner", email="y@owner.example")
    body = {"provider": "tracker", "externalId": "site-7", "metadata": {"base_url": "https://t"}}
    assert client.post("/api/0/organizations/squat/integrations/", json=body,
                       headers=squatter["headers"]).status_code == 201
    factories.integration(None, "tracker", "site-8", {"base_url": "https://t"})  # installed, waiting for an org
    proven = {**body, "externalId": "site-8", "linkToken": "signed-by-tracker"}
    assert client.post("/api/0/organizations/owner/integrations/", json=proven,
                       headers=owner["headers"]).status_code == 201

    services.save_integration("tracker", "site-7", "Tracker 7", {"base_url": "https://t"})  # e.g. a signed install
    services.save_integration("tracker", "site-8", "Tracker 8", {"base_url": "https://t"})

    [claimed] = client.get("/api/0/organizations/squat/integrations/", headers=squatter["headers"]).json
    assert claimed["status"] == "disabled" and "attach it again" in claimed["error"]
    [kept] = client.get("/api/0/organizations/owner/integrations/", headers=owner["headers"]).json
    assert kept["status"] == "active" and kept["config"]["sync_status_forward"] is False


def test_a_link_token_attach_releases_claims_by_hand(client, factories, register_plugin):
    """Proving control with a provider-signed token lets go of another org's unproven claim."""
    register_plugin(Prover(), name="prover")
    squatter = factories.setup(org_slug="squat", email="x@squat.example")
    owner = factories.setup(org_slug="owner", email="y@owner.example")
    body = {"provider": "tracker", "externalId": "site-7", "metadata": {"base_url": "https://t"}}
    assert client.post("/api/0/organizations/squat/integrations/", json=body,
                       headers=squatter["headers"]).status_code == 201
    assert client.post("/api/0/organizations/owner/integrations/", json=body,
                       headers=owner["headers"]).status_code == 409
    proof = {**body, "linkToken": "signed-by-tracker"}
    r = client.post("/api/0/organizations/owner/integrations/", json=proof, headers=owner["headers"])
    assert r.status_code == 201 and r.json["status"] == "active"
    [claimed] = client.get("/api/0/organizations/squat/integrations/", headers=squatter["headers"]).json
    assert claimed["status"] == "disabled" and "attach it again" in claimed["error"]
    assert client.post("/api/0/organizations/squat/integrations/", json=body,
                       headers=squatter["headers"]).status_code == 409


def test_deliveries_prune_keeps_recent_ones(client, env):
    import datetime as dt

    from hub.models.base import utcnow

    tracker_webhook(client, {"key": "TR-1"})
    tracker_webhook(client, {"key": "TR-2"})
    old = db.session.scalars(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id)).first()
    old.date_received = utcnow() - dt.timedelta(days=40)
    db.session.commit()
    runner = client.application.test_cli_runner()
    out = runner.invoke(args=["deliveries", "prune", "--older-than", "30"])
    assert out.exit_code == 0 and out.output.startswith("deleted 1 deliveries")
    assert db.session.scalar(select(m.WebhookDelivery.endpoint)) == "hook/"
    listing = runner.invoke(args=["deliveries"])
    assert listing.exit_code == 0 and len(listing.output.strip().splitlines()) == 1
    assert runner.invoke(args=["deliveries", "prune", "--older-than", "0"]).exit_code == 2
