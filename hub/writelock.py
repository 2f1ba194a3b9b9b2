"""SQLite's one writer, taken in turn instead of by sleeping.

SQLite lets one connection write at a time; a connection that finds the lock taken sleeps in
growing steps (1, 2, 5 … 100 ms, the busy timeout) and tries again, so under a burst of webhooks
the gunicorn threads and ``hub worker`` spend most of their time asleep while the lock is free.
The hot write paths (the webhook ack, the worker's apply) take :func:`serialized` first: a thread
lock inside the process and an ``flock`` on a file beside the database between processes, both
woken the moment the holder lets go. Other writers still meet the busy timeout, as before.
PostgreSQL locks rows, not the database: there this is a no-op.

SQLite's own WAL checkpoint runs inside a commit, with the turn held (every writer waiting out its
fsyncs): so every :data:`CHECKPOINT_EVERY` turns a process asks its checkpoint thread for a PASSIVE
checkpoint, which runs once the turn is let go and keeps no request waiting for its fsyncs (tens of
milliseconds, a few of them CPU); SQLite's own waits for ten times SQLite's default
(``wal_autocheckpoint=10000`` pages, in ``hub.app``): a backstop for a hub whose writes never take the turn.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine

from hub import background
from hub.extensions import db

logger = logging.getLogger("hub.writelock")

#: Turns a process takes between two checkpoints: a webhook's ack writes about ten WAL pages, so
#: a few thousand pages (SQLite's own default is 1000; a checkpoint costs its fsyncs whatever its size).
CHECKPOINT_EVERY = 300

_local = threading.local()
_turns = 0
_thread_lock = threading.Lock()
_files: dict[tuple[int, str], int] = {}


def _lock_path() -> str | None:
    """``<database file>.hub-lock`` for a file database; ``None`` otherwise (PostgreSQL, memory)."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return f"{url.database}.hub-lock"


def _fd(path: str) -> int:
    key = (os.getpid(), path)  # a forked process opens its own: an flock belongs to the open file
    if key not in _files:
        _files[key] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    return _files[key]


def taken_in_turn() -> bool:
    """Whether writers take turns here (a SQLite file); not on PostgreSQL, nor in memory."""
    return _lock_path() is not None


@contextmanager
def serialized() -> Iterator[None]:
    """Hold SQLite's turn to write for the block (re-entrant in a thread); nothing on PostgreSQL."""
    path = _lock_path()
    depth: int = getattr(_local, "depth", 0)
    if path is None or depth:
        _local.depth = getattr(_local, "depth", 0) + 1
        try:
            yield
        finally:
            _local.depth -= 1
        return
    global _turns
    with _thread_lock:
        fd = _fd(path)
        fcntl.flock(fd, fcntl.LOCK_EX)
        _local.depth = 1
        try:
            yield
        finally:
            _local.depth = 0
            fcntl.flock(fd, fcntl.LOCK_UN)
        _turns += 1
        due = _turns % CHECKPOINT_EVERY == 0
    if due:
        checkpoints.ask(db.engine)


def checkpoint(engine: Engine | None = None) -> None:
    """Copy what the WAL holds into the database file, without waiting for readers or blocking the
    next writer (PASSIVE); what a reader still needs is copied next time."""
    with (engine or db.engine).connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


class _Checkpoints:
    """The process's checkpoint thread: asked after a turn, it checkpoints on a pooled connection of
    its own while requests and jobs go on (started on the first ask in each process, after a fork)."""

    def __init__(self) -> None:
        self._engine: Engine | None = None
        self._thread = background.Signalled("hub-wal-checkpoint", self._checkpoint)

    @property
    def done(self) -> int:
        """Checkpoints this process ran (a test waits on it)."""
        return self._thread.done

    def ask(self, engine: Engine) -> None:
        self._engine = engine
        self._thread.ask()

    def _checkpoint(self) -> None:
        try:
            checkpoint(self._engine)
        except Exception as e:  # a busy or closed database: SQLite's own checkpoint is the backstop
            logger.warning("writelock.checkpoint-failed", extra={"error": type(e).__name__})


checkpoints = _Checkpoints()
