"""Inbound webhook deliveries and outbound work (the outbox)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.extensions import Model
from hub.models.base import JSONType, UTCDateTime, new_uuid, utcnow


class WebhookDelivery(Model):
    """One request to ``/extensions/...``: what came, what we answered, what happened.

    ``headers`` are stored with secrets redacted; the secret ones are kept encrypted in
    ``secret_headers`` so ``hub replay`` can re-run the exact request.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_dedupe", "provider", "dedupe_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    endpoint: Mapped[str] = mapped_column(Text)
    method: Mapped[str] = mapped_column(String(8))
    query_string: Mapped[str] = mapped_column(Text, default="")
    headers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    secret_headers: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    status_code: Mapped[int | None] = mapped_column(Integer)
    # received, processed, duplicate, rejected (4xx), error (5xx), unhandled (404)
    outcome: Mapped[str] = mapped_column(String(16), default="received")
    error: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(128))
    # The integration the plugin resolved while handling it (see hub.services.get_integration).
    integration_id: Mapped[int | None] = mapped_column(
        ForeignKey("integrations.id", ondelete="SET NULL"), index=True
    )
    replay_of: Mapped[int | None] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="SET NULL"))
    date_received: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookClaim(Model):
    """A dedupe key taken by the delivery that handles it, *before* any effect (unique per provider).

    The claim is inserted with ``ON CONFLICT DO NOTHING`` and committed at once, so of 32
    identical deliveries exactly one handles it; it is removed again when that delivery fails
    (not answered 2xx, or answered with ``retry=True``), so a redelivery may try again.
    """

    __tablename__ = "webhook_claims"
    __table_args__ = (UniqueConstraint("provider", "dedupe_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(128))
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="SET NULL"), index=True
    )
    date_claimed: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


OUTBOX_STATES = ("pending", "enqueued", "running", "done", "skipped", "failed", "dead")


class OutboxEntry(Model):
    """Outbound work, committed with the change that caused it; its id is the RQ job id.

    pending → enqueued (relay put it on RQ) → running → done | skipped | failed (permanent) |
    pending again with ``next_attempt_at`` (transient) → … → dead (attempts exhausted).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_uuid)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    integration_id: Mapped[int | None] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    date_created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    date_updated: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
