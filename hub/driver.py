"""Hot statements run on the session's DBAPI cursor: compiled once per dialect, values processed once.

SDK ingest runs four statements per event. Through ``Session.execute`` each costs SQLAlchemy's
execution machinery (statement cache key, parameter construction, execution context, result
metadata) about as much as SQLite's own work, so the hot ones are compiled here once per dialect
and executed on the DBAPI cursor of the session's connection: same SQL, same transaction, same
bind processors (a UTC datetime is stored exactly as the ORM stores it). JSON values arrive already
serialized (:func:`hub.fastjson.dumps`). Listeners of the engine's ``before_cursor_execute`` event
still see each statement (logging, statement-count tests).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

from sqlalchemy import JSON, exc
from sqlalchemy.engine import Connection, Dialect

from hub.extensions import db

_own: ContextVar[Connection | None] = ContextVar("hub_driver_own_connection", default=None)


@contextmanager
def own_connection(*, autocommit: bool = False) -> Iterator[Connection]:
    """A connection of the block's own, outside the ORM session, its transaction begun: for a path
    that needs only driver statements (a webhook's verify, then its record), where the session's
    begin, commit and teardown cost about as much as the statements. What the block does not
    commit (``connection.commit()``) is rolled back when it ends.

    ``autocommit``: on PostgreSQL each statement commits alone (no ``BEGIN`` and ``COMMIT`` round
    trips), for a block that reads, then writes in one statement; SQLite keeps its transaction."""
    with db.engine.connect() as connection:
        if autocommit and connection.dialect.name == "postgresql":  # reset when the pool takes it back
            connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.begin()
        yield connection


@contextmanager
def on(connection: Connection) -> Iterator[None]:
    """Driver statements in the block that name no connection run on ``connection`` (reads only:
    the ORM session of the same thread must never wait for it)."""
    token = _own.set(connection)
    try:
        yield
    finally:
        _own.reset(token)


class _Compiled:
    """One statement for one dialect: its SQL text, parameter order, literal values and processors."""

    def __init__(self, statement: Any, dialect: Dialect, keys: Sequence[str] | None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        self.dialect = dialect
        defaulted = [c.name for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
        if defaulted:  # SQLAlchemy computes those per execution; here they must come as parameters
            raise ValueError(f"give every column with a Python-side default a value: {defaulted}")
        self.sql = compiled.string
        self.positional = dialect.positional
        binds = compiled.binds
        self.order: list[str] = list(compiled.positiontup or ()) if self.positional else list(binds)
        self.literals = {name: bind.value for name, bind in binds.items() if not bind.required}
        self.processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in binds.items():
            if isinstance(bind.type, JSON) or isinstance(getattr(bind.type, "impl", None), JSON):
                continue  # JSON values come serialized (a string for SQLite's TEXT and PostgreSQL's ::JSONB)
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[name] = processor

    def arguments(self, params: Mapping[str, Any]) -> Any:
        values = {**self.literals, **params} if self.literals else params
        if self.processors:
            values = dict(values)
            for name, processor in self.processors.items():
                values[name] = processor(values[name])
        if self.positional:
            return [values[name] for name in self.order]
        return values


class DriverStatement:
    """A Core statement built once per dialect (``build(dialect name)``) and run on the DBAPI cursor
    of the session's connection.

    ``keys``: the parameter names an INSERT is given (its column list), as ``Session.execute`` would
    compile it for those parameters.
    """

    def __init__(self, build: Callable[[str], Any], keys: Sequence[str] | None = None) -> None:
        self._build = build
        self._keys = keys
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(dialect.name) or _Compiled(
                    self._build(dialect.name), dialect, self._keys
                )
                self._compiled[dialect.name] = compiled
        return compiled

    def rows(self, params: Mapping[str, Any], connection: Connection | None = None) -> list[tuple[Any, ...]]:
        """Every row the statement answers, as tuples (the raw driver values).

        ``connection``: the one to run on, when the caller runs several statements in a row and has it
        already (asking the session each time costs as much as SQLite's own insert); else the block's
        (:func:`on`), else the session's."""
        connection = connection or _own.get() or db.session.connection()
        compiled = self._for(connection.dialect)
        return _run(connection, compiled, compiled.arguments(params), many=False)

    def execute_many(self, rows: Sequence[Mapping[str, Any]], connection: Connection | None = None) -> None:
        """The statement once per row, in one driver call (psycopg pipelines them: one round trip; SQLite
        steps one prepared statement), for an INSERT of several rows that needs nothing back."""
        if rows:
            connection = connection or _own.get() or db.session.connection()
            compiled = self._for(connection.dialect)
            _run(connection, compiled, [compiled.arguments(row) for row in rows], many=True)

    def first(
        self, params: Mapping[str, Any], connection: Connection | None = None
    ) -> tuple[Any, ...] | None:
        found = self.rows(params, connection)
        return found[0] if found else None


def _run(connection: Connection, compiled: _Compiled, arguments: Any, *, many: bool) -> list[tuple[Any, ...]]:
    """Execute on the DBAPI cursor of ``connection``, telling the engine's cursor-event listeners as
    SQLAlchemy does; the driver's errors raised as SQLAlchemy's."""
    dbapi_connection = connection.connection.driver_connection
    assert dbapi_connection is not None  # a checked-out connection always has its driver's
    cursor = dbapi_connection.cursor()
    try:
        context, events = _Context(), connection.dispatch
        _announce(events.before_cursor_execute, connection, cursor, compiled.sql, arguments, context, many)
        if many:
            cursor.executemany(compiled.sql, arguments)
        else:
            cursor.execute(compiled.sql, arguments)
        _announce(events.after_cursor_execute, connection, cursor, compiled.sql, arguments, context, many)
        return cursor.fetchall() if not many and cursor.description is not None else []
    except compiled.dialect.loaded_dbapi.Error as e:
        raise _wrapped(connection, compiled, arguments, e, cursor) from e
    finally:
        cursor.close()


def _wrapped(
    connection: Connection, compiled: _Compiled, arguments: Any, error: Exception, cursor: Any
) -> Any:
    """The driver's error as SQLAlchemy raises it (``IntegrityError``, ...); a lost connection is
    invalidated, so the pool does not hand it out again."""
    dialect = compiled.dialect
    # the DBAPI's own error (typed as its Error base class by SQLAlchemy)
    disconnect = dialect.is_disconnect(cast(Any, error), connection.connection.dbapi_connection, cursor)
    if disconnect:
        connection.invalidate(error)
    return exc.DBAPIError.instance(
        compiled.sql, arguments, error, dialect.loaded_dbapi.Error, connection_invalidated=disconnect,
        dialect=dialect,
    )


class _Context:
    """Stands for SQLAlchemy's execution context in the cursor events: listeners keep their notes on
    it between ``before_cursor_execute`` and ``after_cursor_execute`` (sentry-sdk's SQLAlchemy
    integration keeps its span there)."""


def _announce(listeners: Any, connection: Connection, cursor: Any, sql: str, arguments: Any,
              context: _Context, executemany: bool) -> None:
    """Tell the engine's cursor-event listeners (``before_cursor_execute``, ``after_cursor_execute``),
    as SQLAlchemy's own execution does."""
    for listener in listeners:
        listener(connection, cursor, sql, arguments, context, executemany)
