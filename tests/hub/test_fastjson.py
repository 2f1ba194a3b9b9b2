"""The stored event's JSON (hub.fastjson, through SDK ingest) keeps every value: integers over 64 bits and
unicode exactly, an ordinary event as normalized; a NaN literal becomes null."""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

from sqlalchemy import select

from hub import models as m
from hub.extensions import db


def _key(project: Any) -> str:
    return db.session.scalar(select(m.ProjectKey.public_key).where(m.ProjectKey.project_id == project.id))


def _post_envelope(client: Any, project: Any, event_json: bytes, event_id: str) -> Any:
    header = json.dumps({"event_id": event_id}).encode()
    item = json.dumps({"type": "event", "length": len(event_json)}).encode()
    body = gzip.compress(header + b"\n" + item + b"\n" + event_json + b"\n")
    return client.post(f"/api/{project.id}/envelope/?sentry_key={_key(project)}", data=body,
                       headers={"Content-Encoding": "gzip"})


def test_integers_over_64_bits_and_unicode_are_stored_exactly(client, env):
    event_id = uuid.uuid4().hex
    huge = 2**70 + 1
    source = (
        '{"event_id": "EID", "message": "caf\\u00e9 \\ud83d\\ude00", '
        '"extra": {"huge": HUGE, "negative": -HUGE, "ratio": 0.1, "text": "\\u00e9"}}'
    ).replace("EID", event_id).replace("HUGE", str(huge)).encode()

    r = _post_envelope(client, env["project"], source, event_id)

    assert r.status_code == 200, r.json
    db.session.expire_all()
    data = db.session.scalar(select(m.Event.data).where(m.Event.event_id == event_id))
    assert data["extra"] == {"huge": huge, "negative": -huge, "ratio": 0.1, "text": "é"}
    assert data["logentry"]["formatted"] == "café 😀"


def test_a_nan_literal_is_stored_as_null(client, env):
    event_id = uuid.uuid4().hex
    source = ('{"event_id": "EID", "message": "m", "extra": {"nan": NaN, "inf": -Infinity, "n": 1}}'
              .replace("EID", event_id).encode())

    r = _post_envelope(client, env["project"], source, event_id)

    assert r.status_code == 200, r.json
    db.session.expire_all()
    data = db.session.scalar(select(m.Event.data).where(m.Event.event_id == event_id))
    assert data["extra"] == {"nan": None, "inf": None, "n": 1}


def test_an_ordinary_event_is_stored_exactly_as_normalized(client, env):
    event_id = uuid.uuid4().hex
    event = {"event_id": event_id, "message": "hello", "extra": {"n": 2**63 - 1, "f": 1e16, "list": [1, "x"]},
             "tags": {"tenant": "acme"}}

    r = _post_envelope(client, env["project"], json.dumps(event).encode(), event_id)

    assert r.status_code == 200
    db.session.expire_all()
    row = db.session.scalar(select(m.Event).where(m.Event.event_id == event_id))
    assert row.data["extra"] == {"n": 2**63 - 1, "f": 1e16, "list": [1, "x"]}
    assert row.tags["tenant"] == "acme" and row.date_received is not None
    assert row.timestamp.tzinfo is not None


def test_loads_reads_what_json_loads_reads_and_refuses_what_it_refuses():
    import math

    import pytest

    from hub import fastjson

    for text in (b'{"a": 123456789012345678901234567890, "b": [1.5e308, -0.0, 0.1]}', b'{"a": 1, "a": 2}',
                 '{"é": "\\ud83d\\ude00"}'.encode(), b' [] ', '{"a": "b"}'.encode("utf-16")):
        assert fastjson.loads(text) == json.loads(text)
    assert fastjson.loads(b'{"s": "\\ud800"}') == {"s": "\ud800"}  # a lone surrogate, as json.loads
    assert math.isnan(fastjson.loads(b'{"n": NaN}')["n"]) and fastjson.loads(b"[1e400]") == [math.inf]
    for bad in (b"{", b'{"a": }', b"\xff\xfe\xfd", b""):
        with pytest.raises(ValueError):
            fastjson.loads(bad)
    with pytest.raises(RecursionError):
        fastjson.loads(b"[" * 100000 + b"]" * 100000)
