"""Hostile input to the REST API, the SDK endpoints and the web pages: always a 4xx, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hub import models as m
from hub.extensions import db
from hub.testing import csrf_token


def _dsn_key(client, env) -> str:
    return client.get("/api/0/projects/acme/backend/keys/", headers=env["headers"]).json[0]["public"]


@pytest.mark.parametrize("event", [
    {"exception": {"values": [1]}},
    {"exception": {"values": "abc"}},
    {"exception": {"values": [{"type": "E", "stacktrace": "x"}]}},
    {"exception": {"values": [{"type": "E", "stacktrace": {"frames": 5}}]}},
    {"logentry": "abc"},
    {"message": "m", "tags": 5},
    {"message": "m", "tags": [[1]]},
    {"message": "m", "fingerprint": 5},
    {"exception": {"values": {"a": 1}}},
    {"message": "m", "user": "someone"},
    {"message": "m", "breadcrumbs": {"values": ["x"]}},
])
def test_sdk_events_of_unexpected_shape_are_400(client, env, event):
    """The DSN key is public: an odd event from anyone is a 400 on both endpoints, and nothing is stored."""
    key, pid = _dsn_key(client, env), env["project"].id
    r = client.post(f"/api/{pid}/store/?sentry_key={key}", json=event)
    assert r.status_code == 400, r.json
    import json
    body = b'{}\n{"type":"event"}\n' + json.dumps(event).encode()
    r = client.post(f"/api/{pid}/envelope/?sentry_key={key}", data=body)
    assert r.status_code == 400, r.json
    assert db.session.scalar(select(func.count()).select_from(m.Event)) == 0


@pytest.mark.parametrize("body", [
    b'[]\n',
    b'{}\n{"type":"event","length":"x"}\n{"message":"m"}',
    b'{}\n{"type":"event","length":-5}\n{"message":"m"}',
    b'{}\n{"type":"event"}\n' + b"[" * 100000 + b"]" * 100000,
])
def test_malformed_envelopes_are_400(client, env, body):
    key, pid = _dsn_key(client, env), env["project"].id
    r = client.post(f"/api/{pid}/envelope/?sentry_key={key}", data=body)
    assert r.status_code == 400 and r.json["detail"] == "Malformed envelope."
    assert db.session.scalar(select(func.count()).select_from(m.Event)) == 0


def test_deeply_nested_store_body_is_400(client, env):
    key, pid = _dsn_key(client, env), env["project"].id
    r = client.post(f"/api/{pid}/store/?sentry_key={key}", data=b"[" * 100000 + b"]" * 100000)
    assert r.status_code == 400


DEEP = b"[" * 100000 + b"]" * 100000


@pytest.mark.parametrize("path", [
    "/api/0/organizations/acme/members/",
    "/api/0/organizations/acme/projects/",
    "/api/0/projects/acme/backend/events/",
    "/api/0/organizations/acme/integrations/",
    "/api/0/projects/acme/backend/rules/",
])
def test_deeply_nested_json_body_is_400(client, env, path):
    r = client.post(path, data=DEEP, headers={**env["headers"], "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json["detail"] == "Malformed JSON body."


def test_webhook_request_json_refuses_deep_nesting_with_value_error():
    """Plugins catch ``ValueError`` from ``request.json()`` to answer 400; deep nesting must be one too."""
    from hub.types import WebhookRequest

    with pytest.raises(ValueError):
        WebhookRequest(method="POST", path="/extensions/x/", headers={}, body=DEEP).json()


def test_out_of_range_cursor_is_400(client, env):
    r = client.get("/api/0/organizations/acme/issues/?cursor=0:99999999999999999999999999:0",
                   headers=env["headers"])
    assert r.status_code == 400 and "cursor" in r.json["errors"]


def test_web_pages_answer_404_for_ids_beyond_the_column(client, env):
    with client.session_transaction() as session:
        session["user_id"] = env["owner"].id
    huge = "99999999999999999999999"
    assert client.get(f"/organizations/acme/issues/{huge}/").status_code == 404
    token = csrf_token(client)
    r = client.post(f"/organizations/acme/issues/{huge}/", data={"status": "resolved", "csrf_token": token})
    assert r.status_code == 404
    r = client.post(f"/organizations/acme/settings/integrations/{huge}/",
                    data={"sync_comments": "on", "csrf_token": token})
    assert r.status_code == 404


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example", "/\\evil.example",
                                    "//evil.example", "https://evil.example/", "evil.example"])
def test_login_never_redirects_off_site(client, env, target):
    from werkzeug.security import generate_password_hash

    env["owner"].password_hash = generate_password_hash("pw")
    db.session.commit()
    r = client.post("/login", query_string={"next": target},
                    data={"email": "owner@example.com", "password": "pw"})
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_login_goes_back_to_the_page_asked_for(client, env):
    from werkzeug.security import generate_password_hash

    env["owner"].password_hash = generate_password_hash("pw")
    db.session.commit()
    r = client.post("/login", query_string={"next": "/organizations/acme/issues/?status=resolved"},
                    data={"email": "owner@example.com", "password": "pw"})
    assert r.headers["Location"] == "/organizations/acme/issues/?status=resolved"


@pytest.mark.parametrize("timestamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_event_timestamps_without_a_utc_time_are_400(client, env, timestamp):
    r = client.post("/api/0/projects/acme/backend/events/", json={"message": "x", "timestamp": timestamp},
                    headers=env["headers"])
    assert r.status_code == 400 and "timestamp" in r.json["errors"]
    assert db.session.scalar(select(func.count()).select_from(m.Event)) == 0
