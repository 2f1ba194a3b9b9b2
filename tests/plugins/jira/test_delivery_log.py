"""The Connect install callback's shared secret never lands in clear in the webhook delivery log."""

from __future__ import annotations

from sqlalchemy import select

from hub import models as m
from hub import services
from hub.extensions import db
from tests.plugins.jira.conftest import CLIENT_KEY, SECRET, lifecycle


def test_install_body_is_stored_without_the_shared_secret_and_still_replays(client, rsa_key, install_keys):
    assert lifecycle(client, rsa_key, "installed").status_code == 200
    delivery = db.session.scalar(select(m.WebhookDelivery))
    assert SECRET.encode() not in delivery.body and b'"sharedSecret": "[redacted]"' in delivery.body
    assert SECRET not in delivery.secret_headers  # the exact body is there, Fernet-encrypted
    db.session.delete(db.session.scalar(select(m.Integration)))
    db.session.commit()
    out = client.application.test_cli_runner().invoke(args=["replay", str(delivery.id)])
    assert out.output.startswith("200"), out.output
    assert services.get_integration("jira", CLIENT_KEY).metadata["shared_secret"] == SECRET
