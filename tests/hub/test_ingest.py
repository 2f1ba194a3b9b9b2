"""Events in (hub/ingest.py) through the SDK endpoints: auth by DSN, attachments, dedupe, regressions and
release-aware resolutions (FLOWS §10), bad input, the statements an event costs.
"""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import event, func, select

from hub import models as m
from hub.extensions import db
from tests.hub.conftest import TRACKER, post_event
from tests.support.sdk import (
    _count,
    _dsn_key,
    _envelope,
    _event_item,
    _key,
    _post,
    _stored_event,
    gzip_envelope,
    public_key,
    sdk_event,
)


def test_tunnel_authenticates_by_the_envelope_header_dsn(client, env):
    pid = env["project"].id
    header = {
        "event_id": uuid.uuid4().hex,
        "dsn": f"https://{_key(env)}@hub.example.com/{pid}",
        "sent_at": "2026-01-01T00:00:00Z",
        "sdk": {"name": "sentry.javascript.browser", "version": "8.0.0"},
    }
    body = _envelope(_event_item({"message": "from the browser", "platform": "javascript"}), header=header)
    r = client.post(f"/api/{pid}/envelope/", data=body, headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert r.status_code == 200, r.json
    assert r.json["id"] == header["event_id"]
    assert _stored_event().message == "from the browser"


def test_a_dsn_header_for_another_project_is_401(client, env, factories):
    other = factories.project(env["org"], "frontend")
    other_key = db.session.scalar(select(m.ProjectKey.public_key).where(m.ProjectKey.project_id == other.id))
    body = _envelope(_event_item({"message": "x"}), header={"dsn": f"https://{other_key}@h/{other.id}"})
    assert client.post(f"/api/{env['project'].id}/envelope/", data=body).status_code == 401
    body = _envelope(
        _event_item({"message": "x"}), header={"dsn": f"https://{other_key}@h/{env['project'].id}"}
    )
    assert client.post(f"/api/{env['project'].id}/envelope/", data=body).status_code == 401
    assert (
        client.post(
            f"/api/{env['project'].id}/envelope/", data=_envelope(_event_item({"message": "x"}))
        ).status_code
        == 401
    )
    assert _count(m.Event) == 0


def test_a_disabled_key_is_refused_everywhere(client, env):
    key = db.session.scalar(select(m.ProjectKey).where(m.ProjectKey.project_id == env["project"].id))
    key.is_active = False
    db.session.commit()
    pid = env["project"].id
    body = _envelope(_event_item({"message": "x"}), header={"dsn": f"https://{key.public_key}@h/{pid}"})
    assert client.post(f"/api/{pid}/envelope/", data=body).status_code == 403
    assert (
        client.post(f"/api/{pid}/store/?sentry_key={key.public_key}", json={"message": "x"}).status_code
        == 403
    )
    assert _count(m.Event) == 0


@pytest.mark.parametrize("query", ["?sentry_key=%00", "?sentry_key=abc%00def", "?sentry_key=" + "z" * 32])
def test_invalid_keys_are_401_never_500(client, env, query):
    r = client.post(f"/api/{env['project'].id}/store/{query}", json={"message": "x"})
    assert r.status_code == 401
    r = client.post(f"/api/%00/envelope/{query}", data=b"{}\n")
    assert r.status_code == 401


def test_an_attachment_over_the_limit_is_dropped_and_the_event_kept(make_app):
    app = make_app(HUB_SDK_MAX_ATTACHMENT=1024)
    client = app.test_client()
    with app.app_context():
        from hub.members import create_project

        org = m.Organization(slug="att", name="Att")
        db.session.add(org)
        db.session.flush()
        project = create_project(org, "p", "p")
        db.session.commit()
        key = db.session.scalar(select(m.ProjectKey.public_key).where(m.ProjectKey.project_id == project.id))
        eid = uuid.uuid4().hex
        body = _envelope(
            _event_item({"message": "kept"}),
            ({"type": "attachment", "filename": "big.bin"}, b"b" * 2048),
            ({"type": "attachment", "filename": "small.txt"}, b"small"),
            header={"event_id": eid},
        )
        r = client.post(f"/api/{project.id}/envelope/?sentry_key={key}", data=body)
        assert r.status_code == 200 and r.json["id"] == eid
        assert _stored_event().message == "kept"
        assert [a.name for a in db.session.scalars(select(m.EventAttachment))] == ["small.txt"]
        from hub.sdk_quota import outcomes

        assert outcomes(project.id)["too_large:attachment"] == 1


def test_an_attachment_of_one_and_a_half_mib_is_stored_whole(client, env):
    eid = uuid.uuid4().hex
    content = bytes(range(256)) * (6 * 1024)  # 1.5 MiB
    body = _envelope(
        _event_item({"message": "with a file"}),
        ({"type": "attachment", "filename": "dump.bin", "content_type": "application/x-dump"}, content),
        header={"event_id": eid},
    )
    r = _post(client, env, gzip.compress(body), {"Content-Encoding": "gzip"})
    assert r.status_code == 200
    att = db.session.scalar(select(m.EventAttachment))
    assert att.event_id == eid and att.content == content and att.mimetype == "application/x-dump"


def test_lone_surrogates_and_nuls_anywhere_in_an_envelope_are_stored_replaced_not_a_500(client, env):
    """A lone UTF-16 surrogate escape (``\\ud800``) decodes to text no database driver encodes:
    in the event's fields, tags, extra keys and the attachment's headers it is replaced, not a 500."""
    eid = uuid.uuid4().hex
    event = (b'{"message": "bad \\ud800 x", "release": "r\\udfff", "environment": "e\\uDABC",'
             b' "tags": {"t": "v\\ud800"}, "extra": {"k\\ud800": 1},'
             b' "exception": {"values": [{"type": "K\\ud800", "value": "\\udc00"}]}}')
    body = _envelope(
        ({"type": "event"}, event),
        ({"type": "attachment", "filename": "f\ud800.txt", "content_type": "text/\x00plain",
          "attachment_type": "event.\udc00attachment"}, b"data"),
        header={"event_id": eid},
    )
    r = _post(client, env, body)
    assert r.status_code == 200, r.json
    stored = _stored_event()
    assert stored is not None and stored.event_id == eid
    assert (stored.data["logentry"]["formatted"], stored.data["release"], stored.data["tags"],
            stored.data["extra"]) == ("bad \ufffd x", "r\ufffd", [["t", "v\ufffd"]], {"k\ufffd": 1})
    [att] = db.session.scalars(select(m.EventAttachment)).all()
    assert (att.name, att.mimetype, att.content) == ("f\ufffd.txt", "text/plain", b"data")
    assert "\ufffd" in att.type


def test_a_repeated_envelope_stores_once(client, env):
    eid = uuid.uuid4().hex
    body = _envelope(
        _event_item({"message": "again"}),
        ({"type": "attachment", "filename": "f"}, b"x"),
        header={"event_id": eid},
    )
    for _ in range(3):
        assert _post(client, env, body).status_code == 200
    assert _count(m.Event) == 1 and _count(m.EventAttachment) == 1
    db.session.expire_all()
    assert db.session.scalar(select(m.Group.times_seen)) == 1


def test_client_reports_sessions_and_transactions_are_accepted(client, env):
    pid = env["project"].id
    header = {"sent_at": "2026-01-01T00:00:00Z", "dsn": f"https://{_key(env)}@h/{pid}"}
    reports = [
        (
            {"type": "client_report"},
            json.dumps(
                {
                    "timestamp": 12.345,
                    "discarded_events": [{"reason": "before_send", "category": "error", "quantity": 1}],
                }
            ).encode(),
        ),
        (
            {"type": "session"},
            json.dumps(
                {
                    "sid": uuid.uuid4().hex,
                    "init": True,
                    "started": "2026-01-01T00:00:00Z",
                    "status": "ok",
                    "attrs": {"release": "web@1.0"},
                }
            ).encode(),
        ),
        (
            {"type": "transaction"},
            json.dumps(
                {
                    "type": "transaction",
                    "transaction": "/home",
                    "spans": [],
                    "start_timestamp": 1.0,
                    "timestamp": 2.0,
                }
            ).encode(),
        ),
        ({"type": "profile"}, b"{}"),
        ({"type": "replay_recording"}, b"\x00\x01binary"),
    ]
    for item in reports:
        r = client.post(f"/api/{pid}/envelope/", data=_envelope(item, header=header))
        assert r.status_code == 200 and r.json == {}, (item, r.json)  # no event: no id, as Relay answers
    r = client.post(
        f"/api/{pid}/store/?sentry_key={_key(env)}", json={"type": "transaction", "transaction": "/x"}
    )
    assert r.status_code == 200 and r.json == {}
    assert _count(m.Event) == 0
    from hub.sdk_quota import outcomes

    counted = outcomes(pid)
    assert counted["accepted:client_report"] == 1 and counted["accepted:transaction"] == 2
    assert counted["accepted:session"] == 1


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


def test_deeply_nested_store_body_is_400(client, env):
    key, pid = _dsn_key(client, env), env["project"].id
    r = client.post(f"/api/{pid}/store/?sentry_key={key}", data=b"[" * 100000 + b"]" * 100000)
    assert r.status_code == 400


@pytest.mark.parametrize("timestamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_event_timestamps_without_a_utc_time_are_400(client, env, timestamp):
    r = client.post("/api/0/projects/acme/backend/events/", json={"message": "x", "timestamp": timestamp},
                    headers=env["headers"])
    assert r.status_code == 400 and "timestamp" in r.json["errors"]
    assert db.session.scalar(select(func.count()).select_from(m.Event)) == 0


def _resolve(client, env, gid, **details):
    body = {"status": "resolved", **({"statusDetails": details} if details else {})}
    r = client.put(f"/api/0/organizations/acme/issues/{gid}/", json=body, headers=env["headers"])
    assert r.status_code == 200, r.json
    return r.json


def _status(client, env, gid):
    return client.get(f"/api/0/organizations/acme/issues/{gid}/", headers=env["headers"]).json["status"]


def test_resolved_issue_regresses_on_a_new_event_and_reopens_tickets(client, env, factories, run_jobs,
                                                                     requests_mock):
    gid = post_event(client, env["headers"])["groupId"]
    group = db.session.get(m.Group, int(gid))
    factories.link(group, env["tracker"], "TR-1")
    _resolve(client, env, gid)
    requests_mock.get(f"{TRACKER}/issues/TR-1", json={"key": "TR-1", "state": "open"})
    requests_mock.put(f"{TRACKER}/issues/TR-1/state", json={})
    run_jobs()  # ticket already open: skipped
    requests_mock.get(f"{TRACKER}/issues/TR-1", json={"key": "TR-1", "state": "closed"})
    post_event(client, env["headers"])
    assert _status(client, env, gid) == "unresolved"
    activities = client.get(f"/api/0/organizations/acme/issues/{gid}/activities/",
                            headers=env["headers"]).json
    assert activities[0]["type"] == "set_regression" and activities[0]["user"] is None
    run_jobs()
    assert requests_mock.last_request.method == "PUT"
    assert requests_mock.last_request.json() == {"state": "open"}


def test_resolved_in_next_release_regresses_only_on_a_newer_release(client, env):
    h = env["headers"]
    gid = post_event(client, h, release="1.0")["groupId"]
    issue = _resolve(client, env, gid, inNextRelease=True)
    assert issue["statusDetails"] == {"inNextRelease": True}
    activity = client.get(f"/api/0/organizations/acme/issues/{gid}/activities/", headers=h).json[0]
    assert activity["type"] == "set_resolved" and activity["data"]["inNextRelease"] is True
    post_event(client, h, release="1.0")  # the release current at resolve time
    assert _status(client, env, gid) == "resolved"
    post_event(client, h)  # no release: not a newer one
    assert _status(client, env, gid) == "resolved"
    post_event(client, h, release="1.1")
    assert _status(client, env, gid) == "unresolved"


def test_resolved_in_release_x_ignores_that_release_and_older(client, env):
    h = env["headers"]
    gid = post_event(client, h, release="1.0")["groupId"]
    post_event(client, h, message="other", release="2.0")
    post_event(client, h, message="other", release="3.0")
    _resolve(client, env, gid, inRelease="2.0")
    for older in ("1.0", "2.0"):
        post_event(client, h, release=older)
        assert _status(client, env, gid) == "resolved"
    post_event(client, h, release="3.0")
    assert _status(client, env, gid) == "unresolved"


def test_resolved_in_latest_release(client, env):
    h = env["headers"]
    gid = post_event(client, h, release="5.0")["groupId"]
    _resolve(client, env, gid, inRelease="latest")
    assert db.session.scalar(select(m.Group.status_details))["release"] == "5.0"
    post_event(client, h, release="5.0")
    assert _status(client, env, gid) == "resolved"
    post_event(client, h, release="5.1")
    assert _status(client, env, gid) == "unresolved"


def test_events_are_stored_when_redis_is_down(make_app):
    app = make_app(HUB_REDIS_URL="redis://127.0.0.1:1/0", HUB_SDK_RATE_LIMIT=5)
    client = app.test_client()
    with app.app_context():
        from hub.members import create_project

        org = m.Organization(slug="down", name="Down")
        db.session.add(org)
        db.session.flush()
        project = create_project(org, "p", "p")
        db.session.commit()
        key = public_key(project)
        for _ in range(8):  # over the rate limit too: without Redis nothing is limited, nothing lost
            r = client.post(f"/api/{project.id}/envelope/?sentry_key={key}", data=gzip_envelope(sdk_event()),
                            headers={"Content-Encoding": "gzip"})
            assert r.status_code == 200
        assert _count(m.Event) == 8


def test_an_event_of_a_known_issue_costs_four_statements_and_one_commit(app, client, env):
    key = public_key(env["project"])
    url = f"/api/{env['project'].id}/envelope/?sentry_key={key}"
    assert (
        client.post(url, data=gzip_envelope(sdk_event()), headers={"Content-Encoding": "gzip"}).status_code
        == 200
    )
    statements: list[str] = []
    commits: list[int] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", lambda conn: commits.append(1))
    try:
        r = client.post(
            url, data=gzip_envelope(sdk_event("other value")), headers={"Content-Encoding": "gzip"}
        )
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    assert r.status_code == 200
    # the key and its project; the issue, release, environment and rules; the event; the counter
    assert statements == ["SELECT", "SELECT", "INSERT", "UPDATE"], statements
    assert len(commits) == 1
    assert _count(m.Event) == 2 and db.session.scalar(select(m.Group.times_seen)) == 2


def test_events_of_one_new_issue_in_one_envelope_make_one_issue_with_the_next_short_id(client, env):
    """Each event's issue is read before the writer's turn; the second event of a new issue reads it
    again inside, finds the issue the first one just made, and spends no short id of its own."""
    first, second = sdk_event("first"), sdk_event("second")
    r = _post(client, env, _envelope(_event_item(first), _event_item(second)))
    assert r.status_code == 200, r.json
    other = sdk_event("elsewhere", exception={"values": [{"type": "ValueError", "value": "x", "stacktrace": {
        "frames": [{"module": "shop.cart", "function": "total", "lineno": 3, "in_app": True}]}}]})
    assert _post(client, env, _envelope(_event_item(other))).status_code == 200
    db.session.expire_all()
    groups = db.session.execute(select(m.Group.short_number, m.Group.times_seen).order_by(m.Group.id)).all()
    assert [tuple(g) for g in groups] == [(1, 2), (2, 1)]
    assert _count(m.Event) == 3
    assert _count(m.Activity, m.Activity.type == "first_seen") == 2


def test_a_known_issues_event_still_regresses_fires_rules_and_dedupes(client, env):
    """The common event is stored on the request's own connection; an event that needs more (the
    issue was resolved, the project has rules, the event was stored before) takes the whole path,
    with nothing of the first attempt left behind."""
    h = env["headers"]
    assert _post(client, env, _envelope(_event_item(sdk_event("one")))).status_code == 200
    group = db.session.scalar(select(m.Group))
    r = client.put(f"/api/0/organizations/acme/issues/{group.id}/", json={"status": "resolved"}, headers=h)
    assert r.status_code == 200
    again = sdk_event("two")
    assert _post(client, env, _envelope(_event_item(again))).status_code == 200
    db.session.expire_all()
    assert db.session.get(m.Group, group.id).status == "unresolved"
    assert _count(m.Activity, m.Activity.type == "set_regression") == 1
    assert _post(client, env, _envelope(_event_item(again))).status_code == 200  # a retry: no effect
    assert db.session.scalar(select(m.Group.times_seen)) == 2 and _count(m.Event) == 2
    r = client.post("/api/0/projects/acme/backend/rules/", json={
        "name": "all", "conditions": [{"id": "every_event"}],
        "actions": [{"integrationId": str(env["tracker"].id), "channelId": "C1"}]}, headers=h)
    assert r.status_code == 201
    assert _post(client, env, _envelope(_event_item(sdk_event("three")))).status_code == 200
    alerts = db.session.scalars(select(m.OutboxEntry).where(m.OutboxEntry.kind == "notify_issue_alert")).all()
    assert len(alerts) == 1 and alerts[0].payload["group_id"] == group.id
    assert db.session.scalar(select(m.Group.times_seen)) == 3 and _count(m.Event) == 3
