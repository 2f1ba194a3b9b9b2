"""The webhook delivery log keeps no credential in clear: not in the query, not in the body.

What it hides is kept encrypted with the row, so ``hub replay`` still re-runs the exact request.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from hub import models as m
from hub.extensions import db
from hub.webhooks import public_body, public_query
from tests.hub.test_webhooks_plugins import Echo


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
