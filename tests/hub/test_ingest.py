"""The SDK endpoints at Relay's level: encodings, auth, limits, envelope parsing, normalization, bad input."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
import uuid
import zlib

import brotli
import pytest
from sqlalchemy import func, select

from hub import models as m
from hub.extensions import db

MiB = 1024 * 1024


def _key(env) -> str:
    return db.session.scalar(
        select(m.ProjectKey.public_key).where(m.ProjectKey.project_id == env["project"].id)
    )


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def _envelope(*items: tuple[dict, bytes], header: dict | None = None) -> bytes:
    out = [json.dumps(header or {}).encode()]
    for item_header, payload in items:
        out += [json.dumps({**item_header, "length": len(payload)}).encode(), payload]
    return b"\n".join(out) + b"\n"


def _event_item(event: dict) -> tuple[dict, bytes]:
    return {"type": "event"}, json.dumps(event).encode()


def _post(client, env, body: bytes, headers: dict | None = None, query: str | None = None):
    q = f"?sentry_key={_key(env)}" if query is None else query
    return client.post(f"/api/{env['project'].id}/envelope/{q}", data=body, headers=headers or {})


def _stored_event():
    db.session.expire_all()
    return db.session.scalar(select(m.Event))


@pytest.mark.parametrize(
    "encoding,compress",
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("br", brotli.compress), ("identity", lambda b: b)],
)
def test_every_content_encoding_an_sdk_uses(client, env, encoding, compress):
    body = _envelope(
        _event_item({"message": f"via {encoding}", "level": "error"}), header={"event_id": uuid.uuid4().hex}
    )
    r = _post(client, env, compress(body), {"Content-Encoding": encoding})
    assert r.status_code == 200, r.json
    assert _stored_event().message == f"via {encoding}"


def test_store_endpoint_takes_gzip_and_x_sentry_auth(client, env):
    event = {"event_id": str(uuid.uuid4()), "message": "stored", "level": "warn"}
    r = client.post(
        f"/api/{env['project'].id}/store/",
        data=gzip.compress(json.dumps(event).encode()),
        headers={
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
            "X-Sentry-Auth": f"Sentry sentry_version=7, sentry_client=x/1, sentry_key={_key(env)}",
        },
    )
    assert r.status_code == 200 and r.json["id"] == event["event_id"].replace("-", "")
    assert _stored_event().level == "warning"


def test_legacy_base64_zlib_store_body(client, env):
    import base64

    body = base64.b64encode(zlib.compress(json.dumps({"message": "old sdk"}).encode()))
    r = client.post(f"/api/{env['project'].id}/store/?sentry_key={_key(env)}", data=body)
    assert r.status_code == 200 and _stored_event().message == "old sdk"


def test_truncated_brotli_is_400_and_nothing_stored(client, env):
    body = brotli.compress(_envelope(_event_item({"message": "x" * 5000})))
    r = _post(client, env, body[: len(body) // 2], {"Content-Encoding": "br"})
    assert r.status_code == 400 and "truncated" in r.json["detail"]
    assert _count(m.Event) == 0


def test_corrupt_gzip_and_unknown_encoding_are_4xx(client, env):
    assert _post(client, env, b"\x1f\x8bnot gzip at all", {"Content-Encoding": "gzip"}).status_code == 400
    assert _post(client, env, b"{}", {"Content-Encoding": "zstd"}).status_code == 400
    assert _count(m.Event) == 0


def test_gzip_bomb_is_413_with_bounded_memory(client, env):
    bomb = gzip.compress(b"\0" * (1000 * MiB), 1)  # a few MB on the wire
    tracemalloc.start()
    started = time.monotonic()
    r = _post(client, env, bomb, {"Content-Encoding": "gzip"})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert r.status_code == 413
    assert peak < 250 * MiB  # the 100 MiB cap (and its copy), never the 1000 MiB
    assert time.monotonic() - started < 20
    assert _count(m.Event) == 0


def test_brotli_bomb_is_413(client, env):
    r = _post(client, env, brotli.compress(b"\0" * (300 * MiB), quality=1), {"Content-Encoding": "br"})
    assert r.status_code == 413 and _count(m.Event) == 0


def test_envelope_over_the_compressed_limit_is_413_and_nothing_stored(client, env):
    event = _envelope(_event_item({"message": "big"}))
    body = event + _envelope(({"type": "attachment"}, b"a" * (20 * MiB)))[3:]
    r = _post(client, env, body)
    assert r.status_code == 413
    assert _count(m.Event) == 0 and _count(m.EventAttachment) == 0


def test_decompressed_limit_is_configurable(make_app):
    app = make_app(HUB_SDK_MAX_DECOMPRESSED=64 * 1024)
    client = app.test_client()
    with app.app_context():
        from hub.members import create_project

        org = m.Organization(slug="lim", name="Lim")
        db.session.add(org)
        db.session.flush()
        project = create_project(org, "p", "p")
        db.session.commit()
        pid = project.id
        key = db.session.scalar(select(m.ProjectKey.public_key).where(m.ProjectKey.project_id == pid))
        body = gzip.compress(_envelope(_event_item({"message": "m" * 100_000})))
        r = client.post(
            f"/api/{pid}/envelope/?sentry_key={key}", data=body, headers={"Content-Encoding": "gzip"}
        )
        assert r.status_code == 413
        r = client.post(
            f"/api/{pid}/envelope/?sentry_key={key}",
            data=gzip.compress(_envelope(_event_item({"message": "small"}))),
            headers={"Content-Encoding": "gzip"},
        )
        assert r.status_code == 200


def test_ten_thousand_empty_items_are_refused_fast(client, env):
    body = b"{}\n" + b'{"type":"attachment","length":0}\n\n' * 10_000
    started = time.monotonic()
    r = _post(client, env, body)
    assert time.monotonic() - started < 2
    assert r.status_code == 400 and "items" in json.dumps(r.json["errors"])
    assert _count(m.EventAttachment) == 0


def test_twenty_thousand_framed_items_in_a_small_gzip_parse_linearly(client, env):
    body = gzip.compress(b"{}\n" + b'{"type":"session","length":2}\n{}\n' * 20_000, 9)
    assert len(body) < 10_000
    started = time.monotonic()
    r = _post(client, env, body, {"Content-Encoding": "gzip"})
    assert time.monotonic() - started < 2
    assert r.status_code == 400


def test_hub_envelope_parser_is_linear():
    """Four times the items take about four times as long (quadratic parsing would take sixteen)."""
    from hub.envelope import parse

    def best_time(n: int) -> float:
        body = b"{}\n" + b'{"type":"session","length":2}\n{}\n' * n
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            assert len(parse(body, max_items=n).items) == n
            runs.append(time.perf_counter() - started)
        return min(runs)

    small, large = best_time(10_000), best_time(40_000)
    assert small < 1.0
    assert large / small < 8


@pytest.mark.parametrize(
    "body",
    [
        b'{}\n{"type":"event","length":100}\n{"message":"m"}\n',  # length says more than there is
        b'{}\n{"type":"event","length":5}\n{"message":"m"}\n',  # length says less
        b'{}\n{type: event}\n{"message":"m"}\n',  # item header not JSON
        b'{}\n["event"]\n{"message":"m"}\n',  # item header not an object
        b'not json\n{"type":"event"}\n{"message":"m"}\n',  # envelope header not JSON
    ],
)
def test_malformed_envelopes_are_400_and_nothing_stored(client, env, body):
    r = _post(client, env, body)
    assert r.status_code == 400 and r.json["detail"] == "Malformed envelope.", r.json
    assert _count(m.Event) == 0


def test_envelope_shapes_from_sentrys_docs_are_accepted(client, env):
    """Implicit lengths (up to a newline or the end), empty attachments, no final newline."""
    eid = uuid.uuid4().hex
    bodies = [
        f'{{"event_id":"{eid}"}}\n{{"type":"attachment","filename":"a.txt"}}\nhelloworld'.encode(),
        f'{{"event_id":"{eid}"}}\n{{"type":"attachment","length":0}}\n\n{{"type":"attachment","length":0}}'.encode(),
        b'{}\n{"type":"session"}\n{"started": "2020-02-07T14:16:00Z","attrs":{"release":"r@1"}}',
        (
            f'{{"event_id":"{eid}"}}\n{{"type":"attachment","length":7,"filename":"b.txt"}}\n\xef\xbb\xbfHi\r\n\n'
            '{"type":"event","length":41}\n{"message":"hello world","level":"error"}'
        ).encode("latin-1"),
    ]
    for body in bodies:
        r = _post(client, env, body)
        assert r.status_code == 200, (body, r.json)
    assert _stored_event().message == "hello world"
    names = sorted(a.name for a in db.session.scalars(select(m.EventAttachment)))
    assert names == ["a.txt", "attachment", "b.txt"]  # the two empty ones are one (same name and bytes)


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


def test_nul_characters_are_removed_from_events(client, env):
    event = {
        "message": "bad\x00message",
        "culprit": "mod\x00ule",
        "tags": {"k\x00ey": "va\x00lue"},
        "extra": {"x\x00": ["\x00"]},
        "exception": {"values": [{"type": "Err\x00", "value": "v\x00"}]},
    }
    r = client.post(f"/api/{env['project'].id}/store/?sentry_key={_key(env)}", json=event)
    assert r.status_code == 200, r.json
    row = _stored_event()
    assert "\x00" not in json.dumps(row.data) + row.message + row.culprit + json.dumps(row.tags)
    assert row.message == "Err: v" and row.tags["key"] == "value"
    r = client.post(
        "/api/0/projects/acme/backend/events/",
        headers=env["headers"],
        json={"message": "rest\x00", "culprit": "c\x00", "tags": {"a\x00": "b\x00"}},
    )
    # The REST API refuses a NUL (naming the field) where an SDK's event is cleaned: nothing stored.
    assert r.status_code == 400 and r.json["errors"]
    assert db.session.scalar(select(func.count()).select_from(m.Event)) == 1


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


@pytest.mark.parametrize(
    "given,level",
    [
        ("log", "info"),
        ("warn", "warning"),
        ("critical", "fatal"),
        ("WARNING", "warning"),
        ("debug", "debug"),
        ("fatal", "fatal"),
        ("nonsense", "error"),
        (None, "error"),
    ],
)
def test_levels_are_mapped_as_relay_maps_them(client, env, given, level):
    event = {"message": "lvl", **({"level": given} if given else {})}
    r = client.post(f"/api/{env['project'].id}/store/?sentry_key={_key(env)}", json=event)
    assert r.status_code == 200
    row = _stored_event()
    assert row.level == level and row.data["level"] == level
    if given == "nonsense":
        assert row.data["_meta"]["level"][""]["err"][0][0] == "invalid_data"


def test_long_titles_are_truncated_and_the_value_kept(client, env):
    value = "v" * 12_000
    r = client.post(
        f"/api/{env['project'].id}/store/?sentry_key={_key(env)}",
        json={"exception": {"values": [{"type": "ValueError", "value": value}]}},
    )
    assert r.status_code == 200, r.json
    group = db.session.scalar(select(m.Group))
    assert group.title.startswith("ValueError: vvv") and len(group.title) <= 500
    assert _stored_event().data["exception"]["values"][0]["value"] == value


def test_oversized_fields_are_trimmed_with_a_note_in_meta(client, env):
    event = {
        "logentry": {"message": "m" * 10_000},
        "tags": {"t": "x" * 500},
        "culprit": "c" * 300,
        "breadcrumbs": {"values": [{"message": str(i)} for i in range(150)]},
    }
    r = client.post(f"/api/{env['project'].id}/store/?sentry_key={_key(env)}", json=event)
    assert r.status_code == 200
    data = _stored_event().data
    assert len(data["logentry"]["message"]) == 8192
    assert data["_meta"]["logentry"]["message"][""] == {"len": 10_000, "rem": [["!limit", "s"]]}
    assert len(data["tags"][0][1]) == 200 and data["_meta"]["tags"]["0"]["1"][""]["len"] == 500
    assert len(data["culprit"]) == 200
    assert len(data["breadcrumbs"]["values"]) == 100 and data["breadcrumbs"]["values"][-1]["message"] == "149"


def test_an_event_over_one_mib_is_kept_within_one_mib(client, env):
    frames = [
        {"function": f"f{i}", "module": "app", "in_app": True, "vars": {"big": "x" * 16_000}}
        for i in range(100)
    ]
    event = {"exception": {"values": [{"type": "E", "value": "big", "stacktrace": {"frames": frames}}]}}
    r = client.post(f"/api/{env['project'].id}/store/?sentry_key={_key(env)}", json=event)
    assert r.status_code == 200
    data = _stored_event().data
    assert len(json.dumps(data)) <= 1.1 * MiB
    assert data["exception"]["values"][0]["stacktrace"]["frames"][0]["function"] == "f0"


@pytest.mark.parametrize(
    "ts",
    [
        1767225600,
        1767225600.5,
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00",
        "2026-01-01T01:00:00+01:00",
        "1767225600",
    ],
)
def test_timestamps_as_numbers_or_iso_strings(client, env, ts, monkeypatch):
    import datetime as dt

    from hub import normalize

    monkeypatch.setattr(normalize, "MAX_AGE", dt.timedelta(days=36500))
    r = client.post(
        f"/api/{env['project'].id}/store/?sentry_key={_key(env)}", json={"message": "t", "timestamp": ts}
    )
    assert r.status_code == 200
    assert _stored_event().timestamp.replace(microsecond=0) == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("ts", [1e300, "yesterday", -1e20, "9999-12-31T23:59:59-14:00"])
def test_impossible_timestamps_become_the_received_time(client, env, ts):
    import datetime as dt

    r = client.post(
        f"/api/{env['project'].id}/store/?sentry_key={_key(env)}", json={"message": "t", "timestamp": ts}
    )
    assert r.status_code == 200
    row = _stored_event()
    assert abs((row.timestamp - dt.datetime.now(dt.UTC)).total_seconds()) < 60
    assert "timestamp" in row.data["_meta"]


def test_event_ids_with_or_without_dashes_and_unknown_fields(client, env):
    eid = uuid.uuid4()
    r = client.post(
        f"/api/{env['project'].id}/store/?sentry_key={_key(env)}",
        json={"event_id": str(eid).upper(), "message": "x", "totally_unknown": {"a": 1}},
    )
    assert r.status_code == 200 and r.json["id"] == eid.hex
    assert "totally_unknown" not in _stored_event().data
    r = client.post(
        f"/api/{env['project'].id}/store/?sentry_key={_key(env)}", json={"event_id": eid.hex, "message": "x"}
    )
    assert r.status_code == 200 and _count(m.Event) == 1


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
        assert r.status_code == 200, (item, r.json)
    r = client.post(
        f"/api/{pid}/store/?sentry_key={_key(env)}", json={"type": "transaction", "transaction": "/x"}
    )
    assert r.status_code == 200
    assert _count(m.Event) == 0
    from hub.sdk_quota import outcomes

    counted = outcomes(pid)
    assert counted["accepted:client_report"] == 1 and counted["accepted:transaction"] == 2
    assert counted["accepted:session"] == 1
