"""The official sentry-sdk with a project's DSN, reporting to a live hub; read back by the event API."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import sentry_sdk
from sqlalchemy import select
from werkzeug.serving import make_server

from hub import models as m
from hub.extensions import db

MiB = 1024 * 1024


@pytest.fixture
def live_hub(app):
    """The test app served over HTTP on a free port (threaded), recording each request's Content-Encoding."""
    seen: list[tuple[str, str]] = []
    inner = app.wsgi_app

    def recording(environ, start_response):
        seen.append((environ.get("PATH_INFO", ""), environ.get("HTTP_CONTENT_ENCODING", "")))
        return inner(environ, start_response)

    app.wsgi_app = recording
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"port": server.server_port, "seen": seen}
    server.shutdown()
    thread.join(5)
    app.wsgi_app = inner


def _inner(order_id: int) -> None:
    basket_total = 99.5  # noqa: F841 (a local the SDK reports)
    raise KeyError(f"user_{order_id}")


def _outer(order_id: int) -> None:
    try:
        _inner(order_id)
    except KeyError as e:
        raise RuntimeError("checkout failed") from e


def _report(dsn: str, compression: str | None) -> dict[str, Any]:
    """What an app does with the SDK; returns the event ids the SDK gave."""
    options: dict[str, Any] = {}
    if compression:
        options["_experiments"] = {"transport_compression_algo": compression}
    sentry_sdk.init(
        dsn=dsn,
        release="shop@1.2.3",
        environment="production",
        default_integrations=False,
        auto_enabling_integrations=False,
        include_local_variables=True,
        max_value_length=100_000,
        send_client_reports=True,
        **options,
    )
    ids: dict[str, Any] = {"levels": {}}
    try:
        sentry_sdk.set_user({"id": "42", "email": "buyer@example.com"})
        sentry_sdk.set_tag("tenant", "acme-shop")
        sentry_sdk.add_breadcrumb(category="auth", message="user logged in", level="info")
        for order in (17, 42):
            with sentry_sdk.new_scope() as scope:
                if order == 17:
                    scope.add_attachment(
                        bytes=bytes(range(256)) * (5 * 1024),
                        filename="basket.bin",
                        content_type="application/octet-stream",
                    )  # 1.25 MiB
                try:
                    _outer(order)
                except RuntimeError:
                    ids.setdefault("chained", []).append(sentry_sdk.capture_exception())
        for level in ("debug", "info", "warning", "error", "fatal", "log"):
            ids["levels"][level] = sentry_sdk.capture_message(f"message at {level}", level=level)
        try:
            raise ValueError("x" * 12_000)
        except ValueError:
            ids["long"] = sentry_sdk.capture_exception()
        sentry_sdk.flush(timeout=15)
    finally:
        sentry_sdk.get_client().close(timeout=5)
        # no DSN: later tests report nowhere; and no integrations, which would patch libraries for them
        sentry_sdk.init(default_integrations=False, auto_enabling_integrations=False)
    return ids


def _api(client, env, path: str) -> Any:
    r = client.get(path, headers=env["headers"])
    assert r.status_code == 200, (path, r.json)
    return r


@pytest.mark.parametrize("compression", [None, "gzip"], ids=["default-brotli", "gzip"])
def test_the_official_sdk_reports_everything_and_the_event_api_serves_it(
    app, client, env, live_hub, compression
):
    import brotli  # noqa: F401  (a dependency: with it importable, the SDK's default is br)

    key = db.session.scalar(select(m.ProjectKey).where(m.ProjectKey.project_id == env["project"].id))
    dsn = f"http://{key.public_key}@127.0.0.1:{live_hub['port']}/{env['project'].id}"
    ids = _report(dsn, compression)

    encodings = {enc for path, enc in live_hub["seen"] if path.endswith("/envelope/")}
    assert encodings == {"br" if compression is None else "gzip"}
    db.session.expire_all()

    # Chained exceptions with locals, breadcrumbs, user, tags, release, environment
    first = _api(client, env, f"/api/0/projects/acme/backend/events/{ids['chained'][0]}/").json
    assert first["eventID"] == ids["chained"][0] and first["title"] == "RuntimeError: checkout failed"
    assert first["release"] == "shop@1.2.3" and first["environment"] == "production"
    assert first["platform"] == "python" and first["level"] == "error"
    assert first["user"]["id"] == "42" and first["user"]["email"] == "buyer@example.com"
    tags = {t["key"]: t["value"] for t in first["tags"]}
    assert tags["tenant"] == "acme-shop" and tags["level"] == "error" and tags["release"] == "shop@1.2.3"
    entries = {e["type"]: e["data"] for e in first["entries"]}
    chain = entries["exception"]["values"]
    assert [e["type"] for e in chain] == ["KeyError", "RuntimeError"]
    assert chain[0]["value"] == "'user_17'"
    inner_frame = chain[0]["stacktrace"]["frames"][-1]
    assert inner_frame["function"] == "_inner" and inner_frame["lineNo"] > 0
    assert inner_frame["vars"]["basket_total"] == "99.5" and inner_frame["vars"]["order_id"] == "17"
    assert inner_frame["context"] and inner_frame["absPath"].endswith("test_sentry_sdk_live.py")
    assert entries["breadcrumbs"]["values"][-1]["message"] == "user logged in"
    assert first["contexts"]["trace"]["trace_id"]
    assert first["sdk"]["name"] == "sentry.python"

    # The two KeyErrors (user_17, user_42) from one line are one issue
    group_id = first["groupID"]
    second = _api(client, env, f"/api/0/projects/acme/backend/events/{ids['chained'][1]}/").json
    assert second["groupID"] == group_id

    # The attachment over 1 MiB, exact bytes
    attachments = _api(
        client, env, f"/api/0/projects/acme/backend/events/{ids['chained'][0]}/attachments/"
    ).json
    assert [(a["name"], a["size"]) for a in attachments] == [("basket.bin", 5 * 1024 * 256)]
    raw = _api(
        client,
        env,
        f"/api/0/projects/acme/backend/events/{ids['chained'][0]}/attachments/"
        f"{attachments[0]['id']}/?download=1",
    ).data
    assert raw == bytes(range(256)) * (5 * 1024)

    # Every level, log included
    expected = {
        "debug": "debug",
        "info": "info",
        "warning": "warning",
        "error": "error",
        "fatal": "fatal",
        "log": "info",
    }
    for given, level in expected.items():
        event = _api(client, env, f"/api/0/projects/acme/backend/events/{ids['levels'][given]}/").json
        assert event["level"] == level and event["message"] == f"message at {given}"
        assert {
            "type": "message",
            "data": {"formatted": f"message at {given}", "message": None, "params": None},
        } in event["entries"]

    # The 12,000-character value: whole in the event, the title truncated
    long = _api(client, env, f"/api/0/projects/acme/backend/events/{ids['long']}/").json
    assert long["entries"][0]["data"]["values"][-1]["value"] == "x" * 12_000
    issue = _api(client, env, f"/api/0/organizations/acme/issues/{long['groupID']}/").json
    assert issue["title"].startswith("ValueError: xxx") and len(issue["title"]) <= 500

    # The issue's events, newest first, paged; latest; tags with counts
    page = _api(client, env, f"/api/0/organizations/acme/issues/{group_id}/events/?limit=1")
    assert [e["eventID"] for e in page.json] == [ids["chained"][1]]
    assert 'rel="next"; results="true"' in page.headers["Link"]
    latest = _api(client, env, f"/api/0/organizations/acme/issues/{group_id}/events/latest/").json
    assert latest["eventID"] == ids["chained"][1]
    issue_tags = {
        t["key"]: t for t in _api(client, env, f"/api/0/organizations/acme/issues/{group_id}/tags/").json
    }
    assert issue_tags["tenant"]["topValues"][0] == {
        **issue_tags["tenant"]["topValues"][0],
        "value": "acme-shop",
        "count": 2,
    }
    assert issue_tags["environment"]["totalValues"] == 2


def test_sdk_backs_off_on_429(app, client, env, live_hub):
    key = db.session.scalar(select(m.ProjectKey).where(m.ProjectKey.project_id == env["project"].id))
    r = client.put(
        f"/api/0/projects/acme/backend/keys/{key.id}/",
        headers=env["headers"],
        json={"rateLimit": {"window": 3600, "count": 1}},
    )
    assert r.status_code == 200
    dsn = f"http://{key.public_key}@127.0.0.1:{live_hub['port']}/{env['project'].id}"
    sentry_sdk.init(
        dsn=dsn, default_integrations=False, auto_enabling_integrations=False, send_client_reports=False
    )
    try:
        for i in range(5):
            sentry_sdk.capture_message(f"burst {i}")
            sentry_sdk.flush(timeout=5)
            time.sleep(0.05)
    finally:
        sentry_sdk.get_client().close(timeout=5)
        sentry_sdk.init(default_integrations=False, auto_enabling_integrations=False)  # as above
    posts = [p for p, _ in live_hub["seen"] if p.endswith("/envelope/")]
    assert len(posts) == 2  # the first got in, the second was refused with 429; the SDK sent nothing more
    db.session.expire_all()
    assert db.session.scalar(select(m.Event.message)) == "burst 0"
