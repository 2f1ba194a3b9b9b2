"""Browser-facing protections (hub/security.py): CSRF tokens on session forms, same-origin posts, framing
and sniffing headers.
"""

from __future__ import annotations

from hub import models as m
from hub.extensions import db
from hub.testing import csrf_token


def test_cross_site_form_posts_are_refused(client, env):
    r = client.post("/login", data={"email": "owner@example.com", "password": "x"},
                    headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = client.post("/login", data={"email": "owner@example.com", "password": "x"},
                    headers={"Origin": "http://hub.test"})
    assert r.status_code == 401


def test_web_forms_need_the_csrf_token(client, env, factories):
    group = factories.group(env["project"])
    with client.session_transaction() as session:
        session["user_id"] = env["owner"].id
    url = f"/organizations/acme/issues/{group.id}/"
    r = client.post(url, data={"status": "resolved"}, headers={"Origin": "http://hub.test"})
    assert r.status_code == 400 and b"Form expired" in r.data
    db.session.expire_all()
    assert db.session.get(m.Group, group.id).status == "unresolved"
    r = client.post(url, data={"status": "resolved", "csrf_token": "forged"})
    assert r.status_code == 400
    assert client.post(url, data={"status": "resolved", "csrf_token": csrf_token(client)}).status_code == 302
    db.session.expire_all()
    assert db.session.get(m.Group, group.id).status == "resolved"


def test_api_and_webhooks_need_no_csrf_token(client, env):
    r = client.put(
        "/api/0/organizations/acme/issues/0/", json={"status": "resolved"}, headers=env["headers"]
    )
    assert r.status_code == 404  # reached the view: no CSRF refusal for bearer-token calls
    r = client.post(
        "/extensions/tracker/hook/", json={}, headers={"X-Tracker-Site": "site-1", "X-Tracker-Token": "no"}
    )
    assert r.status_code != 400 or b"csrf" not in r.data.lower()


def test_a_session_post_to_a_plugin_page_needs_the_token(client, env):
    with client.session_transaction() as session:
        session["user_id"] = env["owner"].id
    r = client.post(
        "/extensions/tracker/hook/",
        data={"x": "1"},
        headers={"X-Tracker-Site": "site-1", "X-Tracker-Token": "whk"},
    )
    assert r.status_code == 400 and r.json["errors"] == {"csrf_token": ["Missing or invalid."]}


def test_pages_refuse_framing_and_sniffing(client, env):
    for path in ("/login", "/organizations/acme/issues/", "/api/0/organizations/acme/issues/", "/healthz"):
        r = client.get(path)
        assert r.headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"], path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
