"""Events normalized as Relay does (hub/normalize.py): never dropped for a value, trimmed with a note, their
growth bounded.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from hub import models as m
from hub import normalize
from hub.extensions import db
from tests.support.sdk import MiB, _count, _envelope, _event_item, _key, _stored_event


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


def _frames_event(exceptions: int, frames: int, width: int) -> dict[str, Any]:
    return {"exception": {"values": [{"type": f"E{e}", "value": "v", "stacktrace": {"frames": [
        {"function": f"f{j}" + "x" * width, "module": "m" + "y" * width, "filename": "a" * width,
         "abs_path": "b" * width, "lineno": j, "in_app": True} for j in range(frames)]}}
        for e in range(exceptions)]}}


@pytest.mark.parametrize("event", [
    _frames_event(5, 250, 1000), _frames_event(10, 250, 1000), _frames_event(2, 250, 1000),
    {"message": "x", "user": {f"k{i}": "u" * 16000 for i in range(190)}},
    {"logentry": {"message": "m %s", "params": ["p" * 16000] * 190}},
    {"message": "x", "sdk": {"integrations": ["i" * 16000] * 190}},
    {"message": "x", "fingerprint": ["f" * 250] * 10_000},
], ids=["5x250-frames", "10x250-frames", "2x250-frames", "user", "logentry-params", "sdk", "fingerprint"])
def test_any_event_over_one_mib_is_stored_within_one_mib_with_its_innermost_frames(event):
    """Whatever part is bulky (frames with long names, a user, log params, the SDK's list, a fingerprint
    of thousands), the stored event is within 1 MiB, noted in ``_meta``, and still names where it
    failed. The steps are measured incrementally: 10 x 250 long frames (10 MB) once took minutes."""
    raw = json.dumps(event)
    out = normalize.normalize(event, source_size=len(raw))
    assert "_meta" in out
    assert _stored_size(event) <= normalize.MAX_EVENT_BYTES
    values = (out.get("exception") or {}).get("values")
    if values:
        frames = values[-1]["stacktrace"]["frames"]
        assert frames[-1]["lineno"] == 249 and frames[-1]["function"].startswith("f249")  # the innermost
        assert len(frames) == normalize.KEPT_FRAMES
    if "fingerprint" in event:
        assert len(out["fingerprint"]) == normalize.MAX_ITEMS


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


def _stored_size(event_body: dict[str, Any]) -> int:
    out = normalize.normalize(event_body)
    out.pop("_meta", None)  # what _fit measures
    return len(json.dumps(out, separators=(",", ":")).encode())


ADDED = 512  # what normalizing adds to any event: event_id, received, timestamp, platform, type, tags


def test_normalizing_grows_adversarial_json_less_than_the_bound():
    """Floats an SDK writes short (``1e15``), booleans as strings, UTF-8 as \\u escapes, tags as pairs."""
    big = 1e15  # 4 characters in the source, 18 written out
    frames = [{k: big for k in normalize.FRAME_STRINGS} | {"vars": {"a": big, "b": [big, "😀é"]}}] * 300
    worst = {
        "message": "😀" * 2000, "logger": True, "server_name": big, "culprit": "é" * 150,
        "tags": {str(i): big for i in range(150)}, "extra": {str(i): [big, "😀"] for i in range(150)},
        "exception": {"values": [{"type": big, "value": "😀" * 3000, "stacktrace": {"frames": frames}}]},
        "breadcrumbs": [{"message": big, "timestamp": 1e9, "category": True} for _ in range(100)],
    }
    source = json.dumps(worst, ensure_ascii=False, separators=(",", ":"))
    source = source.replace("1000000000000000.0", "1e15")
    assert "1e15" in source
    size = _stored_size(json.loads(source))
    assert size > 1.5 * len(source.encode())  # it does grow
    assert size <= normalize.MAX_GROWTH * len(source.encode()) + ADDED


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.integers()
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fields=st.dictionaries(
        st.sampled_from(["message", "logger", "platform", "release", "environment", "server_name", "culprit",
                         "transaction", "dist", "extra", "contexts", "user", "request", "tags", "sdk"]),
        json_values, max_size=8),
    frame=st.dictionaries(st.sampled_from([*normalize.FRAME_STRINGS, "vars", "lineno", "pre_context"]),
                          json_values, max_size=6),
)
def test_normalizing_any_json_grows_it_less_than_the_bound(fields, frame):
    body = dict(fields)
    body["exception"] = {"values": [{"type": "E", "stacktrace": {"frames": [frame, frame]}}]}
    try:
        size = _stored_size(body)
    except normalize.EventError:
        return  # refused (a 400): nothing is stored
    source = len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
    assert size <= normalize.MAX_GROWTH * source + ADDED


def test_breadcrumb_times_as_sdks_send_them_and_impossible_ones_left_out():
    sent = 1767225600.123456
    crumbs = [{"message": "float", "timestamp": sent}, {"message": "int", "timestamp": 1767225600},
              {"message": "iso", "timestamp": "2026-01-01T00:00:00Z"},
              *({"message": "bad", "timestamp": bad} for bad in (1e20, float("nan"), float("inf"), "soon"))]
    out = normalize.normalize({"message": "m", "breadcrumbs": {"values": crumbs}})
    times = [crumb.get("timestamp") for crumb in out["breadcrumbs"]["values"]]
    assert times == [sent, 1767225600.0, 1767225600.0, None, None, None, None]


def _served_user(client, env, event_id: str) -> Any:
    r = client.get(f"/api/0/projects/acme/backend/events/{event_id}/", headers=env["headers"])
    assert r.status_code == 200
    return r.json["user"]


def test_user_ip_auto_is_the_client_address_and_a_numeric_user_id_is_text(client, env):
    """Relay's inference: ``{{auto}}`` is the address the SDK's request came from (a forwarded address
    is not trusted without HUB_PROXY_FIX); a user id sent as a number is the same id, as text."""
    client.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    event = {"message": "x", "user": {"id": 42, "ip_address": "{{auto}}", "email": "a@example.com"},
             "request": {"url": "https://shop.example/", "env": {"REMOTE_ADDR": "{{auto}}"}}}
    r = client.post(f"/api/{env['project'].id}/store/?sentry_key={_key(env)}", json=event,
                    headers={"X-Forwarded-For": "198.51.100.9"})
    assert r.status_code == 200
    assert _served_user(client, env, r.json["id"]) == {
        "id": "42", "ip_address": "203.0.113.7", "email": "a@example.com"}
    assert _stored_event().data["request"]["env"] == {"REMOTE_ADDR": "203.0.113.7"}

    envelope = _envelope(_event_item({"event_id": uuid.uuid4().hex, "message": "y",
                                      "user": {"id": 7.0, "ip_address": "{{auto}}"}}))
    r = client.post(f"/api/{env['project'].id}/envelope/?sentry_key={_key(env)}", data=envelope)
    assert r.status_code == 200
    assert _served_user(client, env, r.json["id"]) == {"id": "7", "ip_address": "203.0.113.7"}

    kept = {"message": "z", "user": {"id": "u-1", "ip_address": "192.0.2.1"}}
    r = client.post(f"/api/{env['project'].id}/store/?sentry_key={_key(env)}", json=kept)
    assert _served_user(client, env, r.json["id"]) == {"id": "u-1", "ip_address": "192.0.2.1"}



def test_a_browser_or_apple_event_without_a_user_ip_gets_the_client_address(client, env):
    """Relay's inference for SDKs on the user's device (javascript, cocoa, objc): no ``ip_address``
    is ``{{auto}}``; a server platform's event keeps no address it did not send."""
    client.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    url = f"/api/{env['project'].id}/store/?sentry_key={_key(env)}"
    for platform in ("javascript", "cocoa", "objc"):
        r = client.post(url, json={"message": platform, "platform": platform, "user": {"id": "u-1"}})
        assert r.status_code == 200
        assert _served_user(client, env, r.json["id"]) == {"id": "u-1", "ip_address": "203.0.113.7"}
    r = client.post(url, json={"message": "no user", "platform": "javascript"})
    assert _served_user(client, env, r.json["id"]) == {"ip_address": "203.0.113.7"}
    sent = {"ip_address": "192.0.2.1"}
    r = client.post(url, json={"message": "sent", "platform": "javascript", "user": sent})
    assert _served_user(client, env, r.json["id"]) == sent
    envelope = _envelope(_event_item({"event_id": uuid.uuid4().hex, "message": "y", "platform": "cocoa"}))
    r = client.post(f"/api/{env['project'].id}/envelope/?sentry_key={_key(env)}", data=envelope)
    assert r.status_code == 200
    assert _served_user(client, env, r.json["id"]) == {"ip_address": "203.0.113.7"}
    r = client.post(url, json={"message": "server", "platform": "python", "user": {"id": "u-2"}})
    assert _served_user(client, env, r.json["id"]) == {"id": "u-2"}


def test_a_user_ip_that_is_no_address_is_dropped_with_a_note_and_a_long_id_trimmed(client, env):
    event = {"message": "x", "user": {"id": "u" * 300, "ip_address": "not-an-ip", "email": "a@example.com"}}
    r = client.post(f"/api/{env['project'].id}/store/?sentry_key={_key(env)}", json=event)
    assert r.status_code == 200
    served = _served_user(client, env, r.json["id"])
    assert served == {"id": "u" * 125 + "...", "email": "a@example.com"}
    meta = _stored_event().data["_meta"]["user"]
    assert meta["ip_address"][""]["err"][0][1] == {"reason": "expected an ip address"}
    assert meta["id"][""]["len"] == 300
    for kept in ("2001:db8::1", "192.0.2.1"):
        r = client.post(f"/api/{env['project'].id}/store/?sentry_key={_key(env)}",
                        json={"message": kept, "user": {"ip_address": kept}})
        assert _served_user(client, env, r.json["id"]) == {"ip_address": kept}

def test_user_ip_auto_behind_a_trusted_proxy_is_the_forwarded_client_address(make_app, client, env):
    behind = make_app(HUB_PROXY_FIX="1").test_client()
    behind.environ_base["REMOTE_ADDR"] = "10.0.0.2"  # the proxy
    r = behind.post(f"/api/{env['project'].id}/store/?sentry_key={_key(env)}",
                    json={"message": "x", "user": {"ip_address": "{{auto}}"}},
                    headers={"X-Forwarded-For": "203.0.113.8"})
    assert r.status_code == 200
    assert _served_user(client, env, r.json["id"]) == {"ip_address": "203.0.113.8"}


def test_a_user_id_that_is_no_primitive_or_past_a_doubles_precision_is_dropped_with_a_note():
    out = normalize.normalize({"message": "x", "user": {"id": {"nested": 1}, "email": "a@example.com"}})
    assert out["user"] == {"email": "a@example.com"}
    reason = out["_meta"]["user"]["id"][""]["err"]
    assert reason == [["invalid_data", {"reason": "expected a primitive value"}]]
    out = normalize.normalize({"message": "x", "user": {"id": 1e300}})
    assert "user" not in out and out["_meta"]["user"]["id"][""]["val"] == 1e300
    assert normalize.normalize({"user": {"id": True}})["user"] == {"id": "True"}  # Python's str(), as Relay
    assert normalize.normalize({"user": {"ip_address": "{{auto}}"}})["user"] == {"ip_address": "{{auto}}"}
