"""Column helpers shared by every model module."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, DateTime, TypeDecorator
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

MAX_ID = 2**31 - 1


def parse_id(value: object) -> int | None:
    """A row id from outside (a URL, a chat payload): a positive integer that fits the column, or ``None``."""
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not text.isdigit() or not text.isascii():
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_uuid() -> str:
    return uuid.uuid4().hex


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 UTC with a ``Z``; naive values (SQLite) are UTC by construction."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def as_aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return as_aware(value)


JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")
#: The same column type, writing Python ``None`` as SQL ``NULL`` rather than JSON ``null`` (for a
#: statement's parameter, where ``sqlalchemy.null()`` cannot be passed per row).
JSONOrNull = JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
