"""A body the hub refuses unread (over a route's limit, or before its signature is checked) must not
cost the client its connection: against a real gunicorn, a provider's pooled keep-alive connection
carries its next request after a 413 or a 401 on a body of several MiB."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sqlalchemy import select

from hub import models as m
from hub.extensions import db
from tests.support.live import gunicorn

BIG = b"{" + b" " * (3 * 1024 * 1024) + b"}"


@pytest.mark.parametrize("path", ["/extensions/slack/event/", "/extensions/discord/interactions/",
                                  "/extensions/jira/issue-updated/"])
def test_the_next_request_on_a_kept_alive_connection_is_answered_after_a_413(
        app: Any, hub_database_url: str, hub_redis_url: str, tmp_path: Any, path: str) -> None:
    db.session.remove()
    with gunicorn(hub_database_url, hub_redis_url, str(tmp_path / "live"), workers=1, threads=2) as url:
        with requests.Session() as session:
            for _ in range(3):
                refused = session.post(url + path, data=BIG, headers={"Content-Type": "application/json"},
                                       timeout=30)
                assert refused.status_code == 413
                assert refused.json()["detail"].startswith("Request body too large")
                assert refused.headers.get("Connection", "").lower() != "close"
                assert session.get(url + "/healthz", timeout=30).status_code == 200  # the same connection

            # no Content-Length (chunked): refused once read past the limit, the connection kept too
            chunks = (BIG[i:i + 65536] for i in range(0, len(BIG), 65536))
            refused = session.post(url + path, data=chunks, headers={"Content-Type": "application/json"},
                                   timeout=30)
            assert refused.status_code == 413
            assert session.get(url + "/healthz", timeout=30).status_code == 200

    db.session.expire_all()
    logged = db.session.execute(select(m.WebhookDelivery.status_code, m.WebhookDelivery.outcome,
                                       m.WebhookDelivery.body)).all()
    assert [tuple(row) for row in logged] == [(413, "rejected", b"")] * 4


def test_a_large_body_refused_by_its_signature_keeps_the_connection(
        app: Any, hub_database_url: str, hub_redis_url: str, tmp_path: Any) -> None:
    """The SDK endpoint refuses an unknown key before reading an envelope: a 401, the body drained."""
    db.session.remove()
    with gunicorn(hub_database_url, hub_redis_url, str(tmp_path / "live"), workers=1, threads=2) as url:
        with requests.Session() as session:
            for _ in range(3):
                refused = session.post(url + "/api/1/envelope/?sentry_key=0123456789abcdef0123456789abcdef",
                                       data=BIG, headers={"Content-Type": "application/x-sentry-envelope"},
                                       timeout=30)
                assert refused.status_code in (401, 403), refused.text
                assert session.get(url + "/healthz", timeout=30).status_code == 200
