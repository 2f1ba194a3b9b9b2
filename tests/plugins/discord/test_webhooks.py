"""The Discord routes as the core matches them: 404, 405 with ``Allow``, the signature before parsing."""

from __future__ import annotations

import time

from nacl.signing import SigningKey

from tests.plugins.discord.conftest import sign

URL = "/extensions/discord/interactions/"


def test_an_unknown_path_is_a_404(client):
    for path in ("/extensions/discord/nope/", "/extensions/discord/interactions/extra/",
                 "/extensions/discord/link-identity/"):
        r = client.post(path, data=b"{}")
        assert r.status_code == 404, path
        assert r.json == {"detail": "Not found.", "errors": {}}


def test_a_wrong_method_is_a_405_naming_the_allowed_ones(client):
    r = client.get(URL)
    assert r.status_code == 405
    assert r.headers["Allow"] == "POST"
    assert r.json["detail"] == "Method not allowed."
    r = client.post("/extensions/discord/oauth/?organization=acme")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD"
    r = client.delete("/extensions/discord/link-identity/anything/")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD, POST"


def test_a_bad_signature_is_refused_before_the_body_is_parsed(client):
    body = b"\xff not json {"
    ts = str(int(time.time()))
    headers = {"X-Signature-Ed25519": sign(body, ts, SigningKey.generate()), "X-Signature-Timestamp": ts,
               "Content-Type": "application/json"}
    r = client.post(URL, data=body, headers=headers)
    assert r.status_code == 401  # not the 400 a parsed non-JSON body gets
    assert r.json == {"detail": "Invalid request signature.", "errors": {}}
    signed = {"X-Signature-Ed25519": sign(body, ts), "X-Signature-Timestamp": ts}
    r = client.post(URL, data=body, headers=signed)
    assert r.status_code == 400 and r.json["detail"] == "The body is not JSON."  # signed: now it is parsed


def test_a_refused_interaction_is_in_the_delivery_log(app, client):
    from sqlalchemy import select

    from hub import models as m
    from hub.extensions import db

    ts = str(int(time.time()))
    client.post(URL, data=b"{}", headers={"X-Signature-Ed25519": "0" * 128, "X-Signature-Timestamp": ts})
    delivery = db.session.scalars(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id.desc())).first()
    assert (delivery.provider, delivery.endpoint, delivery.status_code, delivery.outcome) == (
        "discord", "interactions/", 401, "rejected")
