"""The /extensions route, the plugin manager and the pip-installed third-party plugin."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import select

from hub import WebhookResponse, hookimpl
from hub import models as m
from hub.extensions import db
from hub.webhooks import public_body, public_query
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


def test_registered_plugin_answers_its_endpoint(client, register_plugin):
    register_plugin(Echo())
    r = client.get("/extensions/echo/some/path/?a=1")
    assert r.status_code == 202 and r.json == {"endpoint": "some/path/", "method": "GET", "query": "1"}


def test_secret_path_segments_are_redacted_in_the_log_but_replayable(client, register_plugin):
    register_plugin(Echo())
    token = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6IjEifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    r = client.post(f"/extensions/echo/issue-updated/{token}/", data=b"{}")
    assert r.status_code == 202 and r.json["endpoint"] == f"issue-updated/{token}/"
    delivery = db.session.scalar(select(m.WebhookDelivery))
    assert delivery.endpoint == "issue-updated/[redacted]/" and token not in delivery.secret_headers
    out = client.application.test_cli_runner().invoke(args=["replay", str(delivery.id)])
    assert out.output.startswith("202") and token in out.output


def test_credential_query_parameters_are_redacted_but_replayable(client, register_plugin):
    register_plugin(Echo())
    r = client.get("/extensions/echo/configure/?a=1&jwt=eyJ.secret.jwt&code=oauth-code-1&state=signed-state")
    assert r.status_code == 202 and r.json["query"] == "1"
    delivery = db.session.scalar(select(m.WebhookDelivery))
    assert delivery.query_string == "a=1&jwt=%5Bredacted%5D&code=%5Bredacted%5D&state=%5Bredacted%5D"
    for secret in ("eyJ.secret.jwt", "oauth-code-1", "signed-state"):
        assert secret not in delivery.query_string and secret not in delivery.secret_headers
    out = client.application.test_cli_runner().invoke(args=["replay", str(delivery.id)])
    assert out.output.startswith("202")


def test_secret_fields_of_json_and_form_bodies_are_redacted_but_replayable(client, register_plugin):
    register_plugin(Echo())
    body = json.dumps({"clientKey": "k-1", "sharedSecret": "s3cr3t-shared", "baseUrl": "https://x"}).encode()
    client.post("/extensions/echo/installed/", data=body, content_type="application/json")
    form = "payload=" + json.dumps({"type": "block_actions", "token": "verif-tok-1", "user": {"id": "U1"}})
    client.post("/extensions/echo/action/", data=form, content_type="application/x-www-form-urlencoded")
    first, second = db.session.scalars(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id)).all()
    assert json.loads(first.body) == {"clientKey": "k-1", "sharedSecret": "[redacted]", "baseUrl": "https://x"}
    assert b"verif-tok-1" not in second.body and b"block_actions" in second.body
    assert "s3cr3t" not in first.secret_headers
    out = client.application.test_cli_runner().invoke(args=["replay", str(first.id)])
    assert out.output.startswith("202")
    replayed = db.session.scalars(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id.desc())).first()
    assert replayed.replay_of == first.id and b"s3cr3t" not in replayed.body


def test_bodies_without_secrets_are_kept_byte_for_byte():
    raw = b'{"a":  1, "b": [1,2]}'
    assert public_body(raw, "application/json") == raw
    form = b"team_id=T1&text=hi%20there"
    assert public_body(form, "application/x-www-form-urlencoded") == form
    assert public_body(b"not json {", "application/json") == b"not json {"
    assert public_query("a=1&b=2") == "a=1&b=2"
