"""Key check values: proof, kept in the database, of the keys every process must share."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.extensions import Model
from hub.models.base import UTCDateTime, utcnow


class KeyCheck(Model):
    """One row per shared key (``encryption``, ``secret``): a value only that key produces or reads.

    Written by the first process that starts on the database; every later process compares its own
    key with it at start (see :mod:`hub.keycheck`).
    """

    __tablename__ = "key_checks"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    date_created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
