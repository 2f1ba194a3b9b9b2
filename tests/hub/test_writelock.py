"""SQLite's writer turn (hub/writelock.py): writers take it in turn, and the WAL is checkpointed after a
turn is let go, not inside a commit with every other writer waiting."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import insert

from hub import models as m
from hub import writelock
from hub.extensions import db
from hub.models.base import utcnow


@pytest.fixture
def sqlite_file(app):
    return db.engine.url.database if db.engine.dialect.name == "sqlite" else None


def _turn(n: int) -> None:
    with writelock.serialized():
        db.session.execute(insert(m.WebhookClaim).values(provider="p", dedupe_key=f"k{n}",
                                                         date_claimed=utcnow()))
        db.session.commit()


def test_sqlites_own_checkpoint_waits_far_longer_than_the_hubs(sqlite_file):
    if sqlite_file is None:  # PostgreSQL: no file, no turn to take
        assert writelock._lock_path() is None
        return
    value = db.session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert value == 10000


def _checkpointed_since(done: int) -> bool:
    """Whether the process's checkpoint thread finished a checkpoint since it had done ``done``."""
    for _ in range(300):
        if writelock.checkpoints.done > done:
            return True
        time.sleep(0.01)
    return False


def test_every_so_many_turns_the_wal_is_copied_into_the_database_file(sqlite_file, monkeypatch):
    monkeypatch.setattr(writelock, "CHECKPOINT_EVERY", 50)
    done = writelock.checkpoints.done
    for n in range(50):  # up to the turn where the previous checkpoint happened
        _turn(n)
        if writelock._turns % 50 == 0:
            break
    if sqlite_file is None:  # PostgreSQL: the rows are written, no file to checkpoint
        assert db.session.query(m.WebhookClaim).count() == n + 1
        return
    assert _checkpointed_since(done)
    written = os.stat(sqlite_file).st_mtime_ns
    for n in range(100, 149):
        _turn(n)
    assert os.stat(sqlite_file).st_mtime_ns == written  # 49 turns: the rows are in the WAL only
    done = writelock.checkpoints.done
    _turn(149)  # the 50th: checkpointed by the process's checkpoint thread once the turn was let go
    assert _checkpointed_since(done)
    assert os.stat(sqlite_file).st_mtime_ns > written
