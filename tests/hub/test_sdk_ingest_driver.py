"""The fast store path's own guarantees (issue 13 item 9): statements run on the DBAPI cursor still raise
SQLAlchemy's errors, the stored event's JSON keeps every value, and SQLite's writers take turns across
processes and release their turn however the transaction ends."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.exc import IntegrityError

from hub import ingest, sqlite_writers
from hub import models as m
from hub.extensions import db
from hub.models.base import utcnow


def _key(project: Any) -> str:
    return db.session.scalar(select(m.ProjectKey.public_key).where(m.ProjectKey.project_id == project.id))


def _post_envelope(client: Any, project: Any, event_json: bytes, event_id: str) -> Any:
    header = json.dumps({"event_id": event_id}).encode()
    item = json.dumps({"type": "event", "length": len(event_json)}).encode()
    body = gzip.compress(header + b"\n" + item + b"\n" + event_json + b"\n")
    return client.post(f"/api/{project.id}/envelope/?sentry_key={_key(project)}", data=body,
                       headers={"Content-Encoding": "gzip"})


def test_a_driver_statement_raises_sqlalchemys_integrity_error_and_the_session_recovers(app, env):
    project = env["project"]
    with pytest.raises(IntegrityError):
        ingest._event_driver().first(dict(
            project_id=project.id, event_id=uuid.uuid4().hex, group_id=987654, message="m", level="error",
            culprit="", release=None, environment=None, tags="{}", data="{}", timestamp=utcnow(),
            date_received=utcnow()))
    db.session.rollback()
    assert db.session.scalar(select(m.Event.id).limit(1)) is None


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


def test_sqlite_writers_take_turns_across_processes_and_release_on_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'turns.sqlite'}"
    engine = create_engine(url)
    assert sqlite_writers.lock_path(engine) == f"{tmp_path / 'turns.sqlite'}-writers"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from sqlalchemy import create_engine
        from hub import sqlite_writers
        with sqlite_writers.turn(create_engine({url!r})):
            print("held", flush=True)
            time.sleep(1.0)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with sqlite_writers.turn(engine):
            waited = time.monotonic() - started
    finally:
        holder.wait(30)
    assert waited > 0.5  # the other process's turn was waited for, not skipped

    with pytest.raises(RuntimeError), sqlite_writers.turn(engine):
        raise RuntimeError("the transaction failed")
    started = time.monotonic()
    with sqlite_writers.turn(engine):  # released: taken at once
        assert time.monotonic() - started < 0.5


def test_other_engines_take_no_turn():
    assert sqlite_writers.lock_path(create_engine("sqlite://")) is None
    assert sqlite_writers.lock_path(create_engine("postgresql+psycopg://u:p@127.0.0.1:1/db")) is None
