"""Migrations agree with the models; the CLI commands; structured logs without secrets."""

from __future__ import annotations

import io
import json
import logging

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from hub import logs
from hub import models as m
from hub.extensions import db
from hub.testing import csrf_token


def test_migrations_match_the_models(app):
    """The test database was built by `hub db upgrade`; autogenerate must find no difference."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_bootstrap_prints_a_working_token_and_dsn(app, client):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["bootstrap", "--org", "demo", "--project", "web", "--email", "me@example.com",
                              "--password", "pw"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output.strip().splitlines()[-1])
    assert set(data) == {"org", "project", "user_id", "token", "dsn"}
    assert data["org"] == "demo" and data["dsn"].startswith("http://") and data["dsn"].endswith("/" + str(
        db.session.scalar(select(m.Project.id).where(m.Project.slug == "web"))))
    r = client.get("/api/0/organizations/demo/issues/", headers={"Authorization": f"Bearer {data['token']}"})
    assert r.status_code == 200
    again = runner.invoke(
        args=["bootstrap", "--org", "demo", "--project", "web", "--email", "me@example.com"]
    )
    assert (
        again.exit_code == 0
        and json.loads(again.output.strip().splitlines()[-1])["user_id"] == data["user_id"]
    )
    token = runner.invoke(args=["token", "create", "--email", "me@example.com"]).output.strip()
    assert (
        client.get(
            "/api/0/organizations/demo/issues/", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )
    login = client.post("/login", data={"email": "me@example.com", "password": "pw"})
    assert login.status_code == 302
    assert client.get("/organizations/demo/issues/").status_code == 200


def test_pages_need_a_login(client):
    r = client.get("/organizations/acme/issues/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_scaffold_creates_an_installable_plugin(app, tmp_path):
    out = app.test_cli_runner().invoke(args=["plugin", "new", "linear", "--directory", str(tmp_path)])
    assert out.exit_code == 0, out.output
    root = tmp_path / "hub-linear"
    assert "linear = hub_linear" in (root / "setup.cfg").read_text()
    source = (root / "hub_linear" / "__init__.py").read_text()
    compile(source, "hub_linear/__init__.py", "exec")
    assert "@hookimpl" in source and (root / "tests" / "test_linear.py").exists()


def test_log_lines_are_json_with_bound_context_and_no_secrets():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("hub.test")
    logger.addHandler(handler)
    try:
        with logs.bound(request_id="r-1", organization="acme", integration=7):
            logger.info("thing.happened", extra={"access_token": "xoxb-secret", "count": 2})
    finally:
        logger.removeHandler(handler)
    line = stream.getvalue().strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "thing.happened" and record["request_id"] == "r-1"
    assert record["organization"] == "acme" and record["integration"] == 7 and record["count"] == 2
    assert record["access_token"] == "[redacted]" and "xoxb-secret" not in line


def test_request_logs_carry_the_request_id(client, env, capsys):
    r = client.get(
        "/api/0/organizations/acme/issues/?status=bad", headers={**env["headers"], "X-Request-Id": "abc"}
    )
    assert r.headers["X-Request-Id"] == "abc"


def test_settings_page_saves_sync_options_and_mappings(client, env, app):
    from werkzeug.security import generate_password_hash

    env["owner"].password_hash = generate_password_hash("pw")
    db.session.commit()
    client.post("/login", data={"email": "owner@example.com", "password": "pw"})
    page = client.get("/organizations/acme/settings/integrations/")
    assert page.status_code == 200 and "site-1" in page.get_data(as_text=True)
    url = f"/organizations/acme/settings/integrations/{env['tracker'].id}/"
    token = csrf_token(client)
    assert (
        client.post(
            url, data={"form": "config", "sync_status_forward": "on", "csrf_token": token}
        ).status_code
        == 302
    )
    config = client.get("/api/0/organizations/acme/integrations/", headers=env["headers"]).json[0]["config"]
    assert config == {
        "sync_status_forward": True,
        "sync_status_reverse": False,
        "sync_assignee_outbound": False,
        "sync_assignee_inbound": False,
        "sync_comments": False,
    }
    client.post(url, data={"form": "mapping", "external_id": "10100", "resolved": "10001", "unresolved": "3",
                           "csrf_token": token})
    mapping = client.get(f"/api/0/organizations/acme/integrations/{env['tracker'].id}/external-projects/",
                         headers=env["headers"]).json
    assert [(x["externalId"], x["resolvedStatus"], x["unresolvedStatus"]) for x in mapping] == [
        ("10100", "10001", "3")
    ]


def test_members_cannot_change_settings(client, env):
    from werkzeug.security import generate_password_hash

    env["member"].password_hash = generate_password_hash("pw")
    db.session.commit()
    client.post("/login", data={"email": "dev@example.com", "password": "pw"})
    r = client.post(f"/organizations/acme/settings/integrations/{env['tracker'].id}/",
                    data={"form": "config", "csrf_token": csrf_token(client)})
    assert r.status_code == 403


def test_no_log_call_uses_a_reserved_record_attribute():
    """logging raises KeyError for extra={"thread": ...} and the like: a job would crash on a log line."""
    import ast
    import pathlib

    reserved = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
    root = pathlib.Path(__file__).resolve().parents[2]
    offenders = []
    for path in [*root.joinpath("hub").rglob("*.py"), *root.joinpath("plugins").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "extra" and isinstance(node.value, ast.Dict):
                offenders += [f"{path.name}:{node.value.lineno} {k.value}" for k in node.value.keys
                              if isinstance(k, ast.Constant) and k.value in reserved]
    assert offenders == []


def test_deliveries_page_shows_only_the_orgs_own_deliveries(client, env, factories):
    from werkzeug.security import generate_password_hash

    from tests.hub.conftest import tracker_webhook

    other = factories.setup(org_slug="globex", email="boss@globex.com")
    globex_id = factories.integration(other["org"], "tracker", "site-globex", {"webhook_token": "g"}).id
    tracker_webhook(client, {"key": "TR-1"})  # acme's site
    client.post("/extensions/tracker/hook/", json={"key": "G-1"},
                headers={"X-Tracker-Site": "site-globex", "X-Tracker-Token": "g"})
    attributed = dict(
        db.session.execute(select(m.WebhookDelivery.id, m.WebhookDelivery.integration_id)).all()
    )
    assert sorted(attributed.values()) == sorted([env["tracker"].id, globex_id])
    env["owner"].password_hash = generate_password_hash("pw")
    db.session.commit()
    client.post("/login", data={"email": "owner@example.com", "password": "pw"})
    page = client.get("/organizations/acme/settings/deliveries/").get_data(as_text=True)
    assert "hook/" in page and page.count("<td>tracker</td>") == 1
