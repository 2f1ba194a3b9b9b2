"""Grouping, CORS, client keys and rate limits, and the event API's edges."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from hub import models as m
from hub.extensions import db
from hub.grouping import fingerprint_hash


def _key(project) -> m.ProjectKey:
    return db.session.scalar(
        select(m.ProjectKey).where(m.ProjectKey.project_id == project.id).order_by(m.ProjectKey.id)
    )


def _store(client, env, event: dict, key: str | None = None, headers: dict | None = None):
    key = key or _key(env["project"]).public_key
    return client.post(f"/api/{env['project'].id}/store/?sentry_key={key}", json=event, headers=headers or {})


def _groups() -> list[m.Group]:
    db.session.expire_all()
    return list(db.session.scalars(select(m.Group).order_by(m.Group.id)))


def _key_error(value: str, line_module: str = "shop.views") -> dict:
    return {
        "exception": {
            "values": [
                {
                    "type": "KeyError",
                    "value": value,
                    "stacktrace": {
                        "frames": [
                            {
                                "module": "django.core.handlers",
                                "function": "dispatch",
                                "in_app": False,
                                "lineno": 10,
                            },
                            {"module": line_module, "function": "checkout", "in_app": True, "lineno": 42},
                        ]
                    },
                }
            ]
        }
    }


# -- grouping ----------------------------------------------------------------------------------


def test_exception_values_do_not_split_an_issue(client, env):
    assert _store(client, env, _key_error("'user_17'")).status_code == 200
    assert _store(client, env, _key_error("'user_42'")).status_code == 200
    assert _store(client, env, _key_error("'user_42'", line_module="shop.cart")).status_code == 200
    groups = _groups()
    assert [g.times_seen for g in groups] == [2, 1]
    assert groups[0].title == "KeyError: 'user_17'"


def test_system_frames_group_when_no_frame_is_in_app(client, env):
    def event(value, function):
        return {
            "exception": {
                "values": [
                    {
                        "type": "E",
                        "value": value,
                        "stacktrace": {"frames": [{"filename": "lib.js", "function": function}]},
                    }
                ]
            }
        }

    for value, function in (("a", "f"), ("b", "f"), ("c", "g")):
        assert _store(client, env, event(value, function)).status_code == 200
    assert [g.times_seen for g in _groups()] == [2, 1]


def test_messages_group_by_their_template(client, env):
    for name in ("alice", "bob"):
        r = _store(client, env, {"logentry": {"message": "Login failed for %s", "params": [name]}})
        assert r.status_code == 200
    assert _store(client, env, {"message": "Something else"}).status_code == 200
    groups = _groups()
    assert [g.times_seen for g in groups] == [2, 1]
    assert groups[0].title == "Login failed for alice"


def test_fingerprints_with_and_without_default(client, env):
    for tenant in ("a", "b", "a"):
        event = {**_key_error(f"'{tenant}'"), "fingerprint": ["{{ default }}", f"tenant-{tenant}"]}
        assert _store(client, env, event).status_code == 200
    for message in ("one", "two"):
        assert _store(client, env, {"message": message, "fingerprint": ["my-group"]}).status_code == 200
    assert [g.times_seen for g in _groups()] == [2, 1, 2]


def test_issues_grouped_by_the_first_version_keep_their_events(client, env):
    """An issue made before grouping version 2 (hash of message and culprit) still receives its events."""
    old = m.Group(
        organization_id=env["org"].id,
        project_id=env["project"].id,
        short_number=99,
        fingerprint=fingerprint_hash(["KeyError: 'user_17'", "shop.views in checkout"]),
        title="KeyError: 'user_17'",
        culprit="shop.views in checkout",
        level="error",
        status="unresolved",
        status_details={},
        times_seen=5,
    )
    db.session.add(old)
    db.session.commit()
    assert _store(client, env, _key_error("'user_17'")).status_code == 200
    groups = _groups()
    assert len(groups) == 1 and groups[0].times_seen == 6
    r = client.post(
        "/api/0/projects/acme/backend/events/",
        headers=env["headers"],
        json={"message": "KeyError: 'user_17'", "culprit": "shop.views in checkout"},
    )
    assert r.status_code == 201 and r.json["groupId"] == str(old.id)


# -- CORS --------------------------------------------------------------------------------------


def test_cors_preflight_and_headers_default_to_any_origin(client, env):
    pid = env["project"].id
    r = client.options(
        f"/api/{pid}/envelope/",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-sentry-auth",
        },
    )
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "x-sentry-auth" in r.headers["Access-Control-Allow-Headers"]
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    r = _store(client, env, {"message": "from a browser"}, headers={"Origin": "https://app.example.com"})
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "retry-after" in r.headers["Access-Control-Expose-Headers"]


def test_per_project_allowed_origins(client, env):
    r = client.put(
        "/api/0/projects/acme/backend/",
        headers=env["headers"],
        json={"allowedDomains": ["https://shop.example.com", "*.example.org"]},
    )
    assert r.status_code == 200 and r.json["allowedDomains"] == ["https://shop.example.com", "*.example.org"]
    for origin, ok in (
        ("https://shop.example.com", True),
        ("https://a.example.org", True),
        ("https://evil.example", False),
        ("http://shop.example.com", False),
    ):
        r = _store(client, env, {"message": origin}, headers={"Origin": origin})
        assert r.status_code == (200 if ok else 403), origin
        assert (r.headers.get("Access-Control-Allow-Origin") == origin) is ok
    pre = client.options(f"/api/{env['project'].id}/store/", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in pre.headers
    assert db.session.scalar(select(func.count()).select_from(m.Event)) == 2
    assert (
        client.put(
            "/api/0/projects/acme/backend/", headers=env["headers"], json={"allowedDomains": "x"}
        ).status_code
        == 400
    )


# -- keys and rate limits ----------------------------------------------------------------------


def test_keys_rotate_disable_and_limit(client, env, factories):
    r = client.post("/api/0/projects/acme/backend/keys/", headers=env["headers"], json={"name": "Rotated"})
    assert r.status_code == 201 and r.json["isActive"] and r.json["name"] == "Rotated"
    new = r.json
    assert new["dsn"] == f"http://{new['public']}@hub.test/{env['project'].id}"
    assert _store(client, env, {"message": "new key"}, key=new["public"]).status_code == 200
    old = _key(env["project"])
    r = client.put(
        f"/api/0/projects/acme/backend/keys/{old.id}/", headers=env["headers"], json={"isActive": False}
    )
    assert r.status_code == 200 and r.json["isActive"] is False
    assert _store(client, env, {"message": "old key"}, key=old.public_key).status_code == 403
    listed = client.get("/api/0/projects/acme/backend/keys/", headers=env["headers"]).json
    assert [k["isActive"] for k in listed] == [False, True]
    for bad in ({"isActive": "no"}, {"rateLimit": {"window": "x", "count": 1}}, {"rateLimit": {"count": 1}}):
        r = client.put(f"/api/0/projects/acme/backend/keys/{old.id}/", headers=env["headers"], json=bad)
        assert r.status_code == 400, bad
    assert (
        client.put(
            "/api/0/projects/acme/backend/keys/999/", headers=env["headers"], json={"isActive": True}
        ).status_code
        == 404
    )
    member_token = factories.token(env["member"])
    assert (
        client.post(
            "/api/0/projects/acme/backend/keys/", json={}, headers={"Authorization": f"Bearer {member_token}"}
        ).status_code
        == 403
    )


def test_key_rate_limit_answers_429_as_sentry_does(client, env):
    key = _key(env["project"])
    r = client.put(
        f"/api/0/projects/acme/backend/keys/{key.id}/",
        headers=env["headers"],
        json={"rateLimit": {"window": 60, "count": 2}},
    )
    assert r.json["rateLimit"] == {"window": 60, "count": 2}
    assert [_store(client, env, {"message": str(i)}).status_code for i in range(3)] == [200, 200, 429]
    r = _store(client, env, {"message": "more"})
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.headers["X-Sentry-Rate-Limits"].endswith(":error;default;security:key")
    session = b'{}\n{"type":"session"}\n{"sid":"x","status":"ok"}\n'
    assert (
        client.post(
            f"/api/{env['project'].id}/envelope/?sentry_key={key.public_key}", data=session
        ).status_code
        == 200
    )
    assert db.session.scalar(select(func.count()).select_from(m.Event)) == 2
    client.put(
        f"/api/0/projects/acme/backend/keys/{key.id}/", headers=env["headers"], json={"rateLimit": None}
    )
    assert _store(client, env, {"message": "free again"}).status_code == 200


def test_default_project_rate_limit_from_the_environment(make_app):
    app = make_app(HUB_SDK_RATE_LIMIT=1)
    client = app.test_client()
    with app.app_context():
        from hub.members import create_project

        org = m.Organization(slug="rl", name="Rl")
        db.session.add(org)
        db.session.flush()
        project = create_project(org, "p", "p")
        db.session.commit()
        key = _key(project).public_key
        body = b'{}\n{"type":"event"}\n{"message":"e"}\n'
        statuses = [client.post(f"/api/{project.id}/envelope/?sentry_key={key}", data=body) for _ in range(2)]
        assert [r.status_code for r in statuses] == [200, 429]
        assert statuses[1].headers["X-Sentry-Rate-Limits"].endswith(":project")


# -- the event API -----------------------------------------------------------------------------


def test_event_api_pages_and_refuses_bad_queries(client, env):
    ids = []
    for i in range(5):
        eid = uuid.uuid4().hex
        ids.append(eid)
        assert (
            _store(
                client,
                env,
                {"event_id": eid, "message": "same", "timestamp": 1767225600 + i, "extra": {"i": i}},
            ).status_code
            == 200
        )
    group_id = _groups()[0].id
    seen, url = [], f"/api/0/organizations/acme/issues/{group_id}/events/?limit=2"
    while url:
        r = client.get(url, headers=env["headers"])
        assert r.status_code == 200
        seen += [e["eventID"] for e in r.json]
        nxt = [
            part
            for part in r.headers["Link"].split(", ")
            if 'rel="next"' in part and 'results="true"' in part
        ]
        url = nxt[0].split(";")[0].strip("<>").replace("http://hub.test", "") if nxt else None
    assert seen == list(reversed(ids))
    for query in ("limit=0", "limit=x", "cursor=bad"):
        r = client.get(f"/api/0/organizations/acme/issues/{group_id}/events/?{query}", headers=env["headers"])
        assert r.status_code == 400
    base = f"/api/0/organizations/acme/issues/{group_id}/events"
    assert client.get(f"{base}/oldest/", headers=env["headers"]).json["eventID"] == ids[0]
    assert client.get(f"{base}/{ids[2]}/", headers=env["headers"]).json["context"] == {"i": 2}
    assert client.get(f"{base}/{uuid.uuid4().hex}/", headers=env["headers"]).status_code == 404
    assert client.get(f"{base}/%00/", headers=env["headers"]).status_code == 400  # the API's NUL rule


def test_event_api_is_org_scoped(client, env, factories):
    assert _store(client, env, {"message": "secret"}).status_code == 200
    event = db.session.scalar(select(m.Event))
    other = factories.setup("other-org", "web", "someone@example.com")
    headers = other["headers"]
    for path in (
        f"/api/0/organizations/acme/issues/{event.group_id}/events/",
        f"/api/0/organizations/other-org/issues/{event.group_id}/events/",
        f"/api/0/organizations/other-org/issues/{event.group_id}/tags/",
        f"/api/0/projects/other-org/web/events/{event.event_id}/",
        f"/api/0/projects/acme/backend/events/{event.event_id}/attachments/",
    ):
        assert client.get(path, headers=headers).status_code == 404, path
    assert client.get(f"/api/0/projects/acme/backend/events/{event.event_id}/").status_code == 401


def test_rest_events_are_served_in_the_same_shape(client, env):
    r = client.post(
        "/api/0/projects/acme/backend/events/",
        headers=env["headers"],
        json={"message": "Disk full", "level": "warning", "tags": {"host": "db1"}, "release": "1.0"},
    )
    event = client.get(
        f"/api/0/projects/acme/backend/events/{r.json['eventId']}/", headers=env["headers"]
    ).json
    assert event["title"] == "Disk full" and event["level"] == "warning" and event["release"] == "1.0"
    assert {"key": "host", "value": "db1"} in event["tags"]
    assert event["entries"] == [
        {"type": "message", "data": {"formatted": "Disk full", "message": None, "params": None}}
    ]


def test_events_kept_before_this_version_are_still_served(client, env):
    r = client.post("/api/0/projects/acme/backend/events/", headers=env["headers"], json={"message": "old"})
    row = db.session.scalar(select(m.Event))
    row.data = {}
    db.session.commit()
    event = client.get(
        f"/api/0/projects/acme/backend/events/{r.json['eventId']}/", headers=env["headers"]
    ).json
    assert event["message"] == "old" and event["entries"] == []


def test_request_entry_and_openapi(client, env):
    event = {
        "message": "with request",
        "request": {
            "url": "https://shop.example.com/cart",
            "method": "POST",
            "headers": {"User-Agent": "Mozilla"},
            "data": {"q": 1},
        },
    }
    r = _store(client, env, event)
    served = client.get(f"/api/0/projects/acme/backend/events/{r.json['id']}/", headers=env["headers"]).json
    request = next(e["data"] for e in served["entries"] if e["type"] == "request")
    assert request["url"] == "https://shop.example.com/cart" and request["headers"] == [
        ["User-Agent", "Mozilla"]
    ]
    paths = client.get("/api/0/openapi.json").json["paths"]
    for path in (
        "/api/0/organizations/{org}/issues/{id}/events/",
        "/api/0/organizations/{org}/issues/{id}/tags/",
        "/api/0/organizations/{org}/issues/{id}/events/{event_id}/",
        "/api/0/projects/{org}/{project}/events/{event_id}/",
        "/api/0/projects/{org}/{project}/events/{event_id}/attachments/",
        "/api/0/projects/{org}/{project}/keys/{key_id}/",
    ):
        assert path in paths, path
    assert "post" in paths["/api/0/projects/{org}/{project}/keys/"]


@pytest.mark.parametrize("count", [32])
def test_identical_concurrent_envelopes_have_one_effect(app, env, count):
    """32 threads post the same envelope at once: one event, one attachment, the issue counted once."""
    import threading

    key = _key(env["project"]).public_key
    eid = uuid.uuid4().hex
    body = (
        json.dumps({"event_id": eid}) + '\n{"type":"event"}\n{"message":"race"}\n'
        '{"type":"attachment","filename":"f.txt"}\nabc\n'
    ).encode()
    statuses: list[int] = []

    def post():
        with app.test_client() as c:
            statuses.append(
                c.post(f"/api/{env['project'].id}/envelope/?sentry_key={key}", data=body).status_code
            )

    threads = [threading.Thread(target=post) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [200] * count
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(m.Event)) == 1
    assert db.session.scalar(select(func.count()).select_from(m.EventAttachment)) == 1
    assert db.session.scalar(select(m.Group.times_seen)) == 1
