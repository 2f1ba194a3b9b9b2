"""SQLite: the SDK's writers take turns for the database's one write lock instead of polling for it.

SQLite lets one transaction write at a time; a writer that finds the lock taken sleeps 1, 2, 5, 10 ms
... between tries (its busy handler), however soon the lock is released. Under a burst of events the
web process's threads (and its sibling processes) then sleep more than they work. So the SDK's store
transaction first takes its turn: a lock of this process (threads wake as soon as it is released),
then an exclusive ``flock`` of a file beside the database (processes queue in the kernel the same
way). Writers that take no turn (the API, the worker) still meet the SQLite lock as before, and the
turn is released however the transaction ends. A no-op on PostgreSQL and in-memory SQLite.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: threads still take turns
    fcntl = None  # type: ignore[assignment]

_guard = threading.Lock()
_locks: dict[str, threading.Lock] = {}
_files: dict[tuple[int, str], int] = {}  # (process id, database path) -> the open lock file


def lock_path(engine: Any) -> str | None:
    """The turn file of a SQLite database file (``None`` for another engine or an in-memory one)."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if url.database.startswith("file:"):
        return None  # a URI filename (shared cache, mode=memory): left to SQLite
    return f"{os.path.abspath(url.database)}-writers"


def _file(path: str) -> int | None:
    """This process's descriptor of the turn file (a forked child opens its own: flock is per open)."""
    key = (os.getpid(), path)
    fd = _files.get(key)
    if fd is None and fcntl is not None:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return None  # an unwritable folder: SQLite's own lock still decides
        _files[key] = fd
    return fd


@contextmanager
def turn(engine: Any) -> Iterator[None]:
    """Hold the writers' turn for the block (the store transaction, up to its commit or rollback)."""
    path = lock_path(engine)
    if path is None:
        yield
        return
    with _guard:
        lock = _locks.setdefault(path, threading.Lock())
        fd = _file(path)
    with lock:
        if fd is None:
            yield
            return
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
