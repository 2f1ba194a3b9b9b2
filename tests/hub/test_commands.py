"""The hub's commands: one list (hub.commands.COMMANDS), on the ``hub`` script and on the app's own CLI."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select

from hub import models as m
from hub.extensions import db
from tests.hub.conftest import tracker_webhook
from tests.support.inbound import post

CONTRACT_COMMANDS = {"bootstrap", "token", "user", "plugins", "worker", "deliveries", "replay", "outbox",
                     "reconcile", "plugin"}


def test_the_hub_script_and_the_apps_cli_offer_the_same_commands(app):
    from hub.cli import main

    help_text = CliRunner().invoke(main, ["--help"]).output
    for name in CONTRACT_COMMANDS:
        assert f"\n  {name} " in help_text
    assert CONTRACT_COMMANDS <= set(main.commands)
    # registered by create_app (init_app), as Flask's tutorial adds init-db; "db" is flask-migrate's
    assert set(app.cli.commands) == CONTRACT_COMMANDS | {"db"}


def test_a_command_runs_through_the_apps_cli(app, client, factories):
    s = factories.setup()
    result = app.test_cli_runner().invoke(args=["token", "create", "--email", "OWNER@example.com"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert client.get("/api/0/organizations/acme/issues/",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert s["token"] != token
    missing = app.test_cli_runner().invoke(args=["token", "create", "--email", "nobody@example.com"])
    assert missing.exit_code == 1 and "no user with email nobody@example.com" in missing.output


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


def test_hub_deliveries_json_shows_each_change(client, signed, run_jobs):
    post(client, {"delivery": "a", "key": "APP-1", "state": "closed", "updated_ms": 2})
    post(client, {"delivery": "b", "key": "APP-1", "state": "open", "updated_ms": 1})
    post(client, {"delivery": "b", "key": "APP-1", "state": "open", "updated_ms": 1})
    run_jobs()
    out = client.application.test_cli_runner().invoke(args=["deliveries", "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert [r["state"] for r in rows] == ["duplicate", "skipped", "applied"]
    assert rows[1]["changes"][0]["reason"] == "no change"
    applied = rows[2]["changes"][0]
    assert applied["kind"] == "status" and applied["ticket"]["key"] == "APP-1" and applied["activityIds"]
    text = client.application.test_cli_runner().invoke(args=["deliveries"]).output
    assert "skipped" in text and "applied" in text and "activities" in text


def test_hub_deliveries_takes_the_limits_the_api_takes(client, signed):
    """``--limit`` 0, negative or over the API's 500 is refused with the range named (exit 2), not an
    empty or unbounded listing; the bounds are the API's ``?limit=``."""
    for n in range(3):
        post(client, {"delivery": f"d{n}", "key": "APP-1", "state": "closed", "updated_ms": n})
    runner = client.application.test_cli_runner()
    for limit in ("0", "-1", "501"):
        out = runner.invoke(args=["deliveries", "--limit", limit])
        assert out.exit_code == 2, out.output
        assert f"Invalid value for '--limit': {limit} is not in the range 1<=x<=500." in out.output
        api = client.get(f"/api/0/organizations/acme/deliveries/?limit={limit}", headers=signed["headers"])
        assert api.status_code == 400 and api.json["errors"] == {"limit": ["Must be a number from 1 to 500."]}
    out = runner.invoke(args=["deliveries", "--json", "--limit", "2"])
    assert out.exit_code == 0 and len(json.loads(out.output)) == 2
    assert len(json.loads(runner.invoke(args=["deliveries", "--json", "--limit", "500"]).output)) == 3


def test_outbox_retry_takes_only_a_failed_or_dead_row(app, factories):
    s = factories.setup()
    done = m.OutboxEntry(kind="sync_status_outbound", organization_id=s["org"].id, payload={},
                         status="done", attempts=1)
    db.session.add(done)
    db.session.commit()

    out = app.test_cli_runner().invoke(args=["outbox", "retry", done.id])

    assert out.exit_code == 1
    assert f"outbox row {done.id} is done: only a failed or dead row is retried" in out.output
    db.session.expire_all()
    row = db.session.get(m.OutboxEntry, done.id)
    assert (row.status, row.attempts) == ("done", 1)  # the row was not reset
    missing = app.test_cli_runner().invoke(args=["outbox", "retry", "nope"])
    assert missing.exit_code == 1 and "no outbox row nope" in missing.output


def test_hub_replay_exits_1_when_the_replay_fails(client, signed, run_jobs):
    """A script's ``hub replay ID && ...`` must not go on after a replay the hub answered with an error."""
    ok = post(client, {"delivery": "ok", "key": "APP-1", "state": "closed", "updated_ms": 1})
    assert ok.status_code == 200
    assert post(client, {"delivery": "boom", "key": "APP-1", "boom": True}).status_code == 500
    run_jobs()
    db.session.expire_all()
    ok, boom = db.session.scalars(select(m.WebhookDelivery.id).order_by(m.WebhookDelivery.id)).all()
    runner = client.application.test_cli_runner()
    replayed = runner.invoke(args=["replay", str(ok)])
    assert replayed.exit_code == 0 and replayed.output.startswith("200 "), replayed.output
    failed = runner.invoke(args=["replay", str(boom)])
    assert failed.output.startswith("500 ") and failed.exit_code == 1, failed.output


def test_hub_outbox_refuses_a_limit_outside_1_to_500(app):
    runner = app.test_cli_runner()
    for limit in ("0", "-1", "501"):
        out = runner.invoke(args=["outbox", "--limit", limit])
        assert out.exit_code == 2, out.output
        assert f"Invalid value for '--limit': {limit} is not in the range 1<=x<=500." in out.output
    assert runner.invoke(args=["outbox", "--limit", "1"]).exit_code == 0
