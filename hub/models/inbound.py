"""Recorded inbound changes: what a verified delivery reported, until a worker has applied it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.extensions import Model
from hub.models.base import JSONType, UTCDateTime, utcnow

#: pending → applied | stale (an older event) | echo (the hub's own change coming back) |
#: skipped (reason: not linked, sync off, identity unknown, no mapping, no change) | failed (error).
CHANGE_STATES = ("pending", "applied", "stale", "echo", "skipped", "failed")


class InboundChange(Model):
    """One typed change of one delivery (``hub.types.Change``, serialized in ``data``).

    ``order_key`` sorts a ticket's changes by provider event time, arrival breaking ties; the
    worker claims a row by moving it out of ``pending`` in the transaction that applies it, so
    a change is applied once even when a worker dies mid-way (its transaction rolls back).
    """

    __tablename__ = "inbound_changes"
    __table_args__ = (
        Index("ix_inbound_changes_state", "state", "id"),
        Index("ix_inbound_changes_ticket", "integration_id", "ticket_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    ticket_key: Mapped[str] = mapped_column(String(128))
    ticket_id: Mapped[str] = mapped_column(String(64), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    occurred_at: Mapped[float | None] = mapped_column(Float)
    order_key: Mapped[str] = mapped_column(String(40), default="")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    activity_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    #: How it ended for each org installing the integration: ``{"<org id>": [state, reason]}``
    outcomes: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    date_created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    date_applied: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
