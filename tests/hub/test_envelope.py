"""Sentry envelopes (hub/envelope.py): parsed in one pass, linearly; a malformed one is a 400 and stores
nothing.
"""

from __future__ import annotations

import gc
import gzip
import json
import time
import uuid

import pytest
from sqlalchemy import func, select

from hub import models as m
from hub.extensions import db
from tests.support.sdk import _count, _dsn_key, _post, _stored_event


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

    def best_time(n: int) -> float:  # the best of five, the collector off (its passes land anywhere)
        body = b"{}\n" + b'{"type":"session","length":2}\n{}\n' * n
        runs = []
        for _ in range(5):
            gc.collect()
            gc.disable()
            try:
                started = time.perf_counter()
                assert len(parse(body, max_items=n).items) == n
                runs.append(time.perf_counter() - started)
            finally:
                gc.enable()
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
