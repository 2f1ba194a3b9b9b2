"""Request bodies decompressed under hard caps (hub/decompress.py): every encoding an SDK uses; bombs and
corrupt bodies refused with nothing stored.
"""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
import uuid
import zlib

import brotli
import pytest
from sqlalchemy import select

from hub import models as m
from hub.extensions import db
from tests.support.sdk import MiB, _count, _envelope, _event_item, _key, _post, _stored_event


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


def _raw_deflate(data: bytes, level: int = 6) -> bytes:
    packer = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)  # RFC 1951: no zlib header
    return packer.compress(data) + packer.flush()


def test_deflate_is_taken_zlib_wrapped_or_raw_on_both_endpoints(client, env):
    """``Content-Encoding: deflate`` is zlib-wrapped as HTTP defines it, but some clients send raw
    deflate: both are read; a truncated raw stream is a 400 and stores nothing."""
    for pack in (zlib.compress, _raw_deflate, lambda b: _raw_deflate(b, 0)):  # level 0: stored blocks
        message = f"deflated {uuid.uuid4().hex}"
        body = pack(_envelope(_event_item({"message": message})))
        r = _post(client, env, body, {"Content-Encoding": "deflate"})
        assert r.status_code == 200, r.json
        assert db.session.scalar(select(m.Event.message).where(m.Event.event_id == r.json["id"])) == message
        r = client.post(f"/api/{env['project'].id}/store/?sentry_key={_key(env)}",
                        data=pack(json.dumps({"message": message + " stored"}).encode()),
                        headers={"Content-Encoding": "deflate", "Content-Type": "application/json"})
        assert r.status_code == 200, r.json
        assert db.session.scalar(select(m.Event.message).where(m.Event.event_id == r.json["id"])) == (
            message + " stored")
    stored = _count(m.Event)
    body = _raw_deflate(_envelope(_event_item({"message": "x" * 5000, "extra": {"n": uuid.uuid4().hex}})))
    r = _post(client, env, body[: len(body) // 2], {"Content-Encoding": "deflate"})
    assert r.status_code == 400 and "truncated" in r.json["detail"]
    r = _post(client, env, b"\xff\xff not deflate", {"Content-Encoding": "deflate"})
    assert r.status_code == 400 and "corrupt" in r.json["detail"]
    assert _count(m.Event) == stored


def test_raw_deflate_bomb_is_413(client, env):
    r = _post(client, env, _raw_deflate(b"\0" * (300 * MiB), 1), {"Content-Encoding": "deflate"})
    assert r.status_code == 413 and _count(m.Event) == 0


def test_deflate_is_told_apart_however_the_body_is_split():
    from hub.decompress import decompress

    data = b"an event " * 1000
    for packed in (zlib.compress(data), _raw_deflate(data)):
        chunks = [packed[:1], packed[1:2], packed[2:]]
        assert decompress(iter(chunks), "deflate", len(data)) == data
        assert decompress(iter([packed[i:i + 1] for i in range(len(packed))]), "deflate", len(data)) == data
