"""Writes of concurrent requests committed together: one writer turn and one commit for a burst.

Each webhook's ack records a few rows and commits before it answers. Taken one at a time, every ack
pays SQLite's writer turn (a thread lock and an ``flock`` handed between processes,
:mod:`hub.writelock`), its own commit (the WAL's writes) and, worst of all, the turn's holder waits
for the GIL each time the driver lets go of it while the process's other threads run Python: under
load the two processes took turns doing nothing. Here the first request to arrive writes for every
request of its process that arrives while it waits for the turn: their writes run in arrival order
on one connection, in one transaction, committed once, and each request is answered only after that
commit (as durable as its own commit would have been). A write that raises rolls the group's
transaction back, and each write of the group is then run again in a transaction of its own, so
only the failing one fails. On PostgreSQL (no writer turn) each write commits alone, at once.

A write must touch nothing but the connection it is given: it runs on another request's thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.engine import Connection

from hub import writelock
from hub.extensions import db

T = TypeVar("T")


class _Write(Generic[T]):
    __slots__ = ("run", "result", "error", "done", "lead")

    def __init__(self, run: Callable[[Connection], T]) -> None:
        self.run = run
        self.result: T | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.lead = False  # handed the group's lead by the writer before it


class Group:
    """One process's group of writes: at most one thread writes (the leader), the others wait for
    its commit; when it is done, the first that waits meanwhile leads the next group."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[_Write[object]] = []
        self._leading = False
        self._pid = os.getpid()
        self.groups = 0  #: groups committed in this process (a test reads it)

    def write(self, run: Callable[[Connection], T], connection: Connection | None = None) -> T:
        """``run(connection)`` in a transaction shared with the writes that arrive meanwhile,
        committed before this returns; its result, or what it raised.

        ``connection``: the caller's own, used when this thread leads (else one from the pool).
        On PostgreSQL each write commits alone on it: the server takes concurrent transactions,
        and a process's acks queued behind one connection measured a quarter slower."""
        if not writelock.taken_in_turn():
            return _alone(run, connection)
        write = _Write(run)
        with self._lock:
            if self._pid != os.getpid():  # a forked child: its parent's waiters are not here
                self._waiting, self._leading, self._pid = [], False, os.getpid()
            self._waiting.append(write)  # type: ignore[arg-type]
            lead = not self._leading
            self._leading = True
        if not lead:
            write.done.wait()
        if lead or write.lead:
            self._lead(write, connection)  # type: ignore[arg-type]
        if write.error is not None:
            raise write.error
        return write.result  # type: ignore[return-value]

    def _lead(self, own: _Write[object], connection: Connection | None) -> None:
        batch: list[_Write[object]] = []
        try:
            with writelock.serialized():
                with self._lock:  # every write that came while the turn was awaited
                    batch, self._waiting = self._waiting, []
                if connection is None:
                    with db.engine.connect() as pooled:
                        _write_all(batch, pooled)
                else:
                    _write_all(batch, connection)
            self.groups += 1
        except BaseException as e:  # the turn or the connection failed: every write of the group did
            with self._lock:
                if not batch:
                    self._waiting.remove(own)
                    batch = [own]
            for write in batch:
                if write.error is None:
                    write.result, write.error = None, e
        finally:
            with self._lock:
                if self._waiting:
                    following = self._waiting[0]
                    following.lead = True
                    following.done.set()
                else:
                    self._leading = False
            for write in batch:
                if write is not own:
                    write.done.set()


def _alone(run: Callable[[Connection], T], connection: Connection | None) -> T:
    if connection is None:
        with db.engine.connect() as pooled:
            return _alone(run, pooled)
    try:
        result = run(connection)
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    return result


def _write_all(batch: list[_Write[object]], connection: Connection) -> None:
    """The group in one transaction; after a failure, each in its own (only the failing one fails)."""
    try:
        for write in batch:
            write.result = write.run(connection)
        connection.commit()
        return
    except Exception as e:
        failed = e
    try:
        connection.rollback()
    except Exception:  # a connection lost midway: nothing of the group was committed
        pass
    if len(batch) == 1 or connection.invalidated:
        for write in batch:
            write.result, write.error = None, failed
        return
    for write in batch:
        try:
            write.result = write.run(connection)
            connection.commit()
        except Exception as e:
            connection.rollback()
            write.result, write.error = None, e


#: The process's group: the webhook acks' records and the SDK's common events.
writes = Group()
