"""Browser sessions (hub/sessions.py, issue 10 item 10): throttled logins, sessions that die, secure cookies,
the proxy hops trusted.
"""

from __future__ import annotations

import time

from werkzeug.security import generate_password_hash

from hub import models as m
from hub.extensions import db
from hub.testing import csrf_token


def _with_password(user, password="pw"):
    user.password_hash = generate_password_hash(password)
    db.session.commit()


def _login(client, email, password, **kw):
    return client.post("/login", data={"email": email, "password": password}, **kw)


def test_ten_failures_for_an_account_throttle_it_with_retry_after(client, env):
    _with_password(env["owner"])
    for i in range(10):  # from different addresses: the account's own counter
        r = _login(client, "owner@example.com", "wrong", environ_base={"REMOTE_ADDR": f"10.0.0.{i}"})
        assert r.status_code == 401 and b"Wrong email or password." in r.data
    r = _login(client, "owner@example.com", "pw", environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 300
    assert b"Too many failed attempts" in r.data
    with client.session_transaction() as session:
        assert "user_id" not in session
    assert _login(client, "dev@example.com", "x", environ_base={"REMOTE_ADDR": "10.0.1.1"}).status_code == 401


def test_ten_failures_from_one_address_throttle_it_for_every_email(client, env):
    _with_password(env["owner"])
    for i in range(10):
        assert _login(client, f"nobody{i}@example.com", "x").status_code == 401
    r = _login(client, "owner@example.com", "pw")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert (
        _login(client, "owner@example.com", "pw", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 302
    )


def test_the_failed_login_keeps_the_email_typed(client, env):
    r = _login(client, "owner@example.com", "wrong")
    assert 'value="owner@example.com"' in r.get_data(as_text=True)


def test_unknown_and_known_emails_cost_the_same_password_hash(client, env):
    """No timing oracle: an unknown email is checked against a hash of the same kind (tens of ms)."""
    _with_password(env["owner"])
    _login(client, "warmup@example.com", "x", environ_base={"REMOTE_ADDR": "10.1.0.1"})

    def fastest(email):
        times = []
        for i in range(4):
            start = time.perf_counter()
            assert (
                _login(
                    client, email, "wrong", environ_base={"REMOTE_ADDR": f"10.2.{len(email)}.{i}"}
                ).status_code
                == 401
            )
            times.append(time.perf_counter() - start)
        return min(times)

    known, unknown = fastest("owner@example.com"), fastest("unknown-person@example.com")
    assert unknown > known * 0.5, (known, unknown)


def test_logout_is_a_post_and_ends_every_copy_of_the_session(client, env, app):
    _with_password(env["owner"])
    assert _login(client, "owner@example.com", "pw").status_code == 302
    assert client.get("/organizations/acme/issues/").status_code == 200
    stolen = app.test_client()
    stolen.set_cookie("session", client.get_cookie("session").value, domain="localhost")
    assert stolen.get("/organizations/acme/issues/").status_code == 200
    assert client.get("/logout").status_code == 405  # a link or an <img> cannot log anyone out
    assert client.post("/logout").status_code == 400  # nor can a form without the token
    assert client.post("/logout", data={"csrf_token": csrf_token(client)}).status_code == 302
    assert client.get("/organizations/acme/issues/").status_code == 302
    r = stolen.get("/organizations/acme/issues/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert stolen.get("/api/0/organizations/acme/issues/").status_code == 401


def test_a_password_change_ends_the_sessions(client, env, app):
    _with_password(env["owner"])
    assert _login(client, "owner@example.com", "pw").status_code == 302
    result = app.test_cli_runner().invoke(
        args=["user", "set-password", "--email", "owner@example.com", "--password", "new-pw"]
    )
    assert result.exit_code == 0, result.output
    assert client.get("/organizations/acme/issues/").status_code == 302
    assert _login(client, "owner@example.com", "pw").status_code == 401
    assert _login(client, "owner@example.com", "new-pw").status_code == 302
    assert client.get("/organizations/acme/issues/").status_code == 200


def test_https_base_url_makes_the_cookie_secure(make_app, factories):
    app = make_app(HUB_BASE_URL="https://hub.example.com")
    client = app.test_client()
    with app.app_context():
        from hub.members import add_member

        org = m.Organization(slug="s", name="S")
        db.session.add(org)
        db.session.flush()
        user = add_member(org, "s@example.com", role="owner", projects=[]).user
        user.password_hash = generate_password_hash("pw")
        db.session.commit()
    r = client.post(
        "/login", data={"email": "s@example.com", "password": "pw"}, base_url="https://hub.example.com"
    )
    assert r.status_code == 302
    cookie = r.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_http_base_url_cookie_is_not_secure(client, env):
    _with_password(env["owner"])
    assert "Secure" not in _login(client, "owner@example.com", "pw").headers["Set-Cookie"]


def test_proxy_fix_trusts_the_configured_hops_only(make_app):
    behind = make_app(HUB_PROXY_FIX="1").test_client()
    for i in range(10):
        _login(behind, f"p{i}@example.com", "x", headers={"X-Forwarded-For": "203.0.113.7"})
    assert _login(behind, "q@example.com", "x", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 429
    assert _login(behind, "q@example.com", "x", headers={"X-Forwarded-For": "203.0.113.8"}).status_code == 401

    direct = make_app().test_client()  # no proxy configured: a client cannot pick its address
    for i in range(10):
        _login(direct, f"d{i}@example.com", "x", headers={"X-Forwarded-For": f"198.51.100.{i}"})
    assert (
        _login(direct, "e@example.com", "x", headers={"X-Forwarded-For": "198.51.100.99"}).status_code == 429
    )


def test_32_guesses_at_once_check_no_more_than_ten_passwords(
        app, env, hub_database_url, hub_redis_url, tmp_path):
    """Each attempt is counted before its password is checked (the hash takes a while): a burst of
    guesses against a real gunicorn gets ten answers, the rest 429."""
    from collections import Counter

    import requests

    from tests.support.live import at_once, gunicorn

    _with_password(env["owner"])
    db.session.remove()
    with gunicorn(hub_database_url, hub_redis_url, str(tmp_path / "live")) as url:
        guesses = at_once(32, lambda: requests.post(
            f"{url}/login", data={"email": "owner@example.com", "password": "wrong"},
            allow_redirects=False, timeout=60))
        assert Counter(r.status_code for r in guesses) == {401: 10, 429: 22}
        right = requests.post(f"{url}/login", data={"email": "owner@example.com", "password": "pw"},
                              allow_redirects=False, timeout=60)
        assert right.status_code == 429
