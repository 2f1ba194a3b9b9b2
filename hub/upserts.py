"""Race-free writes: the one helper for "create it unless it exists" and for row locks.

Check-then-insert loses under concurrency (two requests both see nothing, both insert, one
gets a unique violation and a 500). Here the database decides: ``INSERT … ON CONFLICT DO
NOTHING`` on the row's unique key, then a read of the row that is now certainly there. It is
one statement on SQLite and PostgreSQL alike, with no savepoint (pysqlite's savepoints are
unreliable). ``lock`` serializes writers of the same rows before they check state.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from hub.extensions import db

T = TypeVar("T")


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def insert_missing(model: Any, values: Mapping[str, Any], unique: Iterable[str]) -> bool:
    """``INSERT … ON CONFLICT (unique) DO NOTHING``; ``True`` when this call inserted the row.

    A concurrent insert of the same key waits for the other transaction (PostgreSQL) or for the
    write lock (SQLite), then does nothing: never an ``IntegrityError``.
    """
    return insert_missing_id(model, values, unique) is not None


def insert_missing_id(model: Any, values: Mapping[str, Any], unique: Iterable[str]) -> Any:
    """:func:`insert_missing`, answering the new row's primary key (``None`` when it existed)."""
    statement = insert_missing_statement(model.__table__, tuple(unique), _dialect())
    return db.session.execute(statement, dict(values)).scalar()


@functools.cache
def insert_missing_statement(table: Any, unique: tuple[str, ...], dialect_name: str) -> Any:
    """Built once per table: the values come as execution parameters (hot paths insert per request)."""
    dialect = sqlite if dialect_name == "sqlite" else postgresql
    # Core, not the ORM's bulk insert (whose rowcount psycopg leaves at -1)
    return (
        dialect.insert(table).on_conflict_do_nothing(index_elements=list(unique))
        .returning(*table.primary_key.columns)
    )


def get_or_create(
    model: type[T], key: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
) -> tuple[T, bool]:
    """The row whose unique ``key`` columns have these values, created (with ``defaults``) if missing.

    :returns: ``(row, created)``; ``created`` is ``True`` only for the one caller that inserted it.
    """
    query = select(model).filter_by(**key)
    row = db.session.scalar(query)
    if row is not None:
        return row, False
    created = insert_missing(model, {**key, **(defaults or {})}, key)
    row = db.session.scalar(query.execution_options(populate_existing=True))
    assert row is not None  # inserted now, or by the transaction we waited for
    return row, created


def lock(model: Any, ids: Iterable[int]) -> None:
    """Hold these rows until commit, so a check that follows sees the latest committed state.

    PostgreSQL: ``SELECT … FOR NO KEY UPDATE`` in id order (no deadlock between two lockers).
    SQLite has no row locks: a no-op ``UPDATE`` takes the database's write lock, and from then
    on this transaction reads the newest commit (readers never block it, other writers wait).
    """
    wanted = sorted(set(ids))
    if not wanted:
        return
    if _dialect() == "sqlite":
        db.session.execute(
            update(model).where(model.id.in_(wanted)).values(id=model.id)
            .execution_options(synchronize_session=False)
        )
    else:
        # FOR NO KEY UPDATE: lockers still wait for each other, but not for (nor block) transactions that
        # insert rows referring to these (an event's foreign key takes KEY SHARE): FOR UPDATE would deadlock
        # a regressing event against the events that counted the same issue before it
        db.session.execute(
            select(model.id).where(model.id.in_(wanted)).order_by(model.id).with_for_update(key_share=True))
