"""Inbound v2: record a verified delivery's typed changes, then apply each exactly once.

In the request (:mod:`hub.webhooks`): claim the dedupe key, write the delivery and its changes
(:func:`rows_of`, :func:`insert_rows`) in one transaction, answer, :func:`wake` a worker. In ``hub worker``
(:func:`apply_pending`): take pending changes in ticket and event order, complete what the payload
lacked (``complete_change``), and apply each in the transaction that moves it out of ``pending``, so
a worker killed mid-way leaves it pending and another applies it once. :mod:`hub.sync` decides what
a change does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import math
import os
import time
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

import redis
from flask import Flask, current_app
from sqlalchemy import Row, bindparam, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from hub import background, fastjson, logs, snapshots, sync, upserts, writelock
from hub import models as m
from hub import types as t
from hub.driver import DriverStatement
from hub.errors import ApiError, Conflict, HubError, NotFound, PluginError, RetryLater
from hub.extensions import current_app_object, db
from hub.models.base import JSONOrNull, utcnow

logger = logging.getLogger("hub.inbound")

WAKE_KEY = "hub:inbound:wake"
APPLY_JOB = "hub.jobs.apply_inbound_job"
MAX_ATTEMPTS = 5
BATCH = 200

_BY_KIND: dict[str, type[t.Change]] = {c.kind: c for c in t.CHANGE_TYPES}


# -- recording (request thread) ---------------------------------------------------------------


#: The latest event time an order key holds (15 digits of ms: year 33658); a later one sorts as it.
LATEST_MS = 10**15 - 1


def order_when(occurred_at: float | None, received_ms: float) -> str:
    """An order key's first part: the provider's event time, else the arrival, in 15 digits."""
    when = occurred_at if occurred_at is not None else received_ms
    return f"{min(LATEST_MS, max(0, int(when))):015d}"


def order_key(occurred_at: float | None, received_ms: float, sequence: int) -> str:
    """Sorts a ticket's changes: provider event time (else arrival), then arrival (``sequence``)."""
    return f"{order_when(occurred_at, received_ms)}.{sequence:016d}"


def _values(change: t.Change, *, integration_id: int, delivery_id: int | None) -> dict[str, Any]:
    _check(change)
    data = {f.name: getattr(change, f.name) for f in dataclasses.fields(change) if f.name != "ticket"}
    return dict(
        delivery_id=delivery_id, integration_id=integration_id, kind=change.kind,
        ticket_key=change.ticket.key[:128], ticket_id=(change.ticket.id or "")[:64],
        data={**data, "project_id": change.ticket.project_id}, occurred_at=change.occurred_at,
        state="pending", attempts=0, activity_ids=[], order_key="",
    )


def to_row(change: t.Change, *, integration_id: int, delivery_id: int | None) -> m.InboundChange:
    return m.InboundChange(**_values(change, integration_id=integration_id, delivery_id=delivery_id))


_INSERT_CHANGES = DriverStatement(
    lambda dialect: insert(m.InboundChange.__table__),
    keys=("delivery_id", "integration_id", "kind", "ticket_key", "ticket_id", "data", "occurred_at", "state",
          "attempts", "activity_ids", "order_key", "date_created"),
)


def rows_of(result: t.Inbound) -> list[dict[str, Any]]:
    """The rows of a handler's changes, but for their delivery and order (:func:`insert_rows`).

    Made in the handler's turn, so an ``Inbound`` a plugin built wrong (a ticket key that is not
    text, an event time that is not a number, a value JSON cannot hold, an integration id that is not
    one) fails the delivery as the handler raising would, recorded with the error, before anything
    is written."""
    if result.dedupe_key is not None and not isinstance(result.dedupe_key, str):
        raise TypeError(f"Inbound.dedupe_key must be a str or None, not {type(result.dedupe_key).__name__}")
    integration_id = int(result.integration.id)
    rows = []
    for change in result.changes:
        values = _values(change, integration_id=integration_id, delivery_id=None)
        values["data"], values["activity_ids"] = fastjson.dumps(values["data"]), "[]"
        rows.append(values)
    return rows


def _check(change: t.Change) -> None:
    """What a change's row needs of it, the one check for every path that records changes."""
    if not isinstance(change, t.CHANGE_TYPES):
        raise TypeError(f"not a hub.types change: {type(change).__name__}")
    ticket, when = change.ticket, change.occurred_at
    if not isinstance(ticket, t.Ticket) or not isinstance(ticket.key, str) or not ticket.key:
        raise TypeError(f"{type(change).__name__}.ticket must be a Ticket with a key (text)")
    if not isinstance(ticket.id, str) or not isinstance(ticket.project_id, str):
        raise TypeError(f"{type(change).__name__}.ticket's id and project_id must be text")
    if when is not None and (isinstance(when, bool) or not isinstance(when, int | float)
                             or not math.isfinite(when)):
        raise TypeError(f"{type(change).__name__}.occurred_at must be milliseconds since the epoch or None")


def insert_rows(rows: Sequence[dict[str, Any]], *, delivery_id: int,
                connection: Connection | None = None) -> None:
    """A delivery's change rows (:func:`rows_of`) in one driver call; arrival order is the delivery's
    id, then the change's place in it (no id needed back)."""
    if not rows:
        return
    received = time.time() * 1000
    now = utcnow()
    _INSERT_CHANGES.execute_many([
        {**values, "delivery_id": delivery_id, "date_created": now,
         "order_key": order_key(values["occurred_at"], received, delivery_id * 1000 + index)}
        for index, values in enumerate(rows)
    ], connection)


#: The ack's whole record on PostgreSQL as one statement, so it is one round trip and atomic with no
#: transaction of its own (the ack's connection is in autocommit there): a delivery id is drawn, the
#: dedupe key claimed for it, the delivery written (``duplicate`` when the claim found the key taken)
#: and, only when claimed, its changes (one array per column, so one statement for any number).
#: The claim's foreign key to the delivery is checked at the end of the statement, once both exist.
_RECORD_AT_ONCE = DriverStatement(lambda dialect: text("""
WITH drawn AS (SELECT nextval(pg_get_serial_sequence('webhook_deliveries', 'id')) AS id),
claimed AS (
  INSERT INTO webhook_claims (provider, dedupe_key, delivery_id, date_claimed)
  SELECT :provider, :claim_key, drawn.id, :date_received FROM drawn
  ON CONFLICT (provider, dedupe_key) DO NOTHING RETURNING delivery_id),
delivery AS (
  INSERT INTO webhook_deliveries (id, provider, endpoint, method, query_string, headers, secret_headers, body,
                                  outcome, status_code, dedupe_key, integration_id, date_received)
  SELECT drawn.id, :provider, :endpoint, :method, :query_string, CAST(:headers AS JSONB), :secret_headers,
         :body, CASE WHEN EXISTS (SELECT 1 FROM claimed) THEN :outcome ELSE 'duplicate' END, :status_code,
         :dedupe_key, :integration_id, :date_received FROM drawn
  RETURNING id, outcome),
changes AS (
  INSERT INTO inbound_changes (delivery_id, integration_id, kind, ticket_key, ticket_id, data, occurred_at,
                               state, attempts, activity_ids, order_key, date_created)
  SELECT claimed.delivery_id, :integration_id, v.kind, v.ticket_key, v.ticket_id, CAST(v.data AS JSONB),
         v.occurred_at, 'pending', 0, CAST('[]' AS JSONB),
         v.order_when || '.' || lpad((claimed.delivery_id * 1000 + v.place - 1)::text, 16, '0'),
         :date_received
  FROM claimed, unnest(CAST(:kinds AS TEXT[]), CAST(:ticket_keys AS TEXT[]), CAST(:ticket_ids AS TEXT[]),
                       CAST(:datas AS TEXT[]), CAST(:occurred_ats AS DOUBLE PRECISION[]),
                       CAST(:order_whens AS TEXT[])) WITH ORDINALITY
       AS v(kind, ticket_key, ticket_id, data, occurred_at, order_when, place))
SELECT id, outcome = 'duplicate' FROM delivery
""").bindparams(bindparam("date_received", type_=m.WebhookDelivery.__table__.c.date_received.type),
                bindparam("body", type_=m.WebhookDelivery.__table__.c.body.type)))


def record_at_once(delivery: dict[str, Any], rows: Sequence[dict[str, Any]],
                   connection: Connection) -> tuple[int, bool]:
    """PostgreSQL: claim ``delivery["claim_key"]``, write the delivery and (when claimed) its change
    rows (:func:`rows_of`) in one statement; ``(delivery id, duplicate)``. The order keys are those
    :func:`insert_rows` gives (the delivery's id, then the change's place)."""
    received = time.time() * 1000
    whens = [order_when(r["occurred_at"], received) for r in rows]
    row = _RECORD_AT_ONCE.first({
        **{k: delivery[k] for k in ("provider", "endpoint", "method", "query_string", "headers",
                                    "secret_headers", "body", "outcome", "status_code", "dedupe_key",
                                    "claim_key", "integration_id", "date_received")},
        "kinds": [r["kind"] for r in rows], "ticket_keys": [r["ticket_key"] for r in rows],
        "ticket_ids": [r["ticket_id"] for r in rows], "datas": [r["data"] for r in rows],
        "occurred_ats": [None if r["occurred_at"] is None else float(r["occurred_at"]) for r in rows],
        "order_whens": whens,
    }, connection)
    assert row is not None  # the delivery is always written
    return int(row[0]), bool(row[1])


def from_row(row: m.InboundChange | Row[*tuple[Any, ...]]) -> t.Change:
    data = dict(row.data or {})
    ticket = t.Ticket(
        key=row.ticket_key, id=row.ticket_id or "", project_id=str(data.pop("project_id", "") or "")
    )
    cls = _BY_KIND[row.kind]
    names = {f.name for f in dataclasses.fields(cls)} - {"ticket"}
    return cls(ticket=ticket, **{k: v for k, v in data.items() if k in names})


def add_changes(
    changes: Sequence[t.Change], *, integration_id: int, delivery_id: int | None
) -> list[m.InboundChange]:
    """Add the changes to the session with their order keys (ids come from one flush)."""
    rows = [to_row(c, integration_id=integration_id, delivery_id=delivery_id) for c in changes]
    if not rows:
        return rows
    db.session.add_all(rows)
    db.session.flush()
    received = time.time() * 1000
    for index, row in enumerate(rows):
        sequence = row.delivery_id * 1000 + index if row.delivery_id else row.id
        row.order_key = order_key(row.occurred_at, received, sequence)
    return rows


def claim(provider: str, key: str, delivery_id: int | None) -> bool:
    """Take the dedupe key in the current transaction; ``False`` when another delivery has it."""
    values = {"provider": provider, "dedupe_key": key, "delivery_id": delivery_id}
    return upserts.insert_missing(m.WebhookClaim, values, ("provider", "dedupe_key"))


_CLAIM = DriverStatement(
    lambda dialect: upserts.insert_missing_statement(
        m.WebhookClaim.__table__, ("provider", "dedupe_key"), dialect
    ),
    keys=("provider", "dedupe_key", "delivery_id", "date_claimed"),
)


def claim_fast(provider: str, key: str, delivery_id: int, connection: Connection | None = None) -> bool:
    """:func:`claim` on the driver's cursor, for the ack (nothing of the ORM's is pending there)."""
    values = {"provider": provider, "dedupe_key": key, "delivery_id": delivery_id, "date_claimed": utcnow()}
    return _CLAIM.first(values, connection) is not None


#: The waker asks Redis at most this often (seconds): under a burst one call serves every delivery
#: recorded meanwhile; ``hub worker``'s poll picks up any it missed.
WAKE_PENDING_FOR = 0.02


class _Waker:
    """Gets a worker to apply what was recorded, from a thread of the process's own: the request only
    raises a flag (no Redis call in the ack); the thread makes one ``SET NX`` and, when no wake is
    pending, enqueues the apply job, at most every :data:`WAKE_PENDING_FOR` seconds."""

    def __init__(self) -> None:
        self._app: Flask | None = None
        self._thread = background.Signalled("hub-inbound-waker", self._wake, pause=WAKE_PENDING_FOR)

    def __call__(self) -> None:
        self._app = current_app_object()
        self._thread.ask()

    def _wake(self) -> None:
        app = self._app
        if app is not None:
            with app.app_context():
                _wake_now()


def _wake_now() -> None:
    from hub.queue import get_queue, state

    qs = state()
    if not qs.available():
        return
    try:
        if qs.redis.set(WAKE_KEY, "1", nx=True, ex=30):
            get_queue().enqueue_call(APPLY_JOB, result_ttl=0, failure_ttl=3600)
    except redis.RedisError as e:
        qs.mark_down()
        logger.warning("inbound.redis-unavailable", extra={"error": type(e).__name__})
    except Exception:  # the waker must outlive any error: the worker's poll covers what it missed
        logger.exception("inbound.wake-failed")


#: Get a worker to apply what was recorded (a Redis outage costs nothing here: ``hub worker`` also
#: polls the database).
wake = _Waker()


# -- applying (hub worker) --------------------------------------------------------------------


def apply_pending(limit: int = BATCH) -> int:
    """Apply due pending changes, each ticket's in event order; returns how many were settled."""
    now = utcnow()
    rows = db.session.execute(
        select(m.InboundChange.id, m.InboundChange.integration_id, m.InboundChange.ticket_key,
               m.InboundChange.order_key)
        .where(m.InboundChange.state == "pending")
        .where((m.InboundChange.not_before.is_(None)) | (m.InboundChange.not_before <= now))
        .order_by(m.InboundChange.id).limit(limit)
    ).all()
    db.session.rollback()  # no transaction held between chunks
    ordered = _in_ticket_order(rows)
    ticket_of = {r[0]: _ticket_lock_key(r[1], r[2]) for r in rows}
    busy: set[int] = set()
    settled = 0
    for i in range(0, len(ordered), APPLY_CHUNK):
        chunk = [change_id for change_id in ordered[i:i + APPLY_CHUNK] if ticket_of[change_id] not in busy]
        busy |= _busy_tickets({ticket_of[change_id] for change_id in chunk})
        settled += apply_many([change_id for change_id in chunk if ticket_of[change_id] not in busy])
    return settled


#: Try-lock tickets for the applying transaction (PostgreSQL's advisory locks); those another holds.
_TRY_TICKETS = text(
    "SELECT k FROM unnest(CAST(:keys AS bigint[])) AS k WHERE NOT pg_try_advisory_xact_lock(k)")


def _ticket_lock_key(integration_id: int, ticket_key: str) -> int:
    """A ticket's lock number: its integration and key, hashed to 63 bits."""
    ticket = f"{integration_id}:{ticket_key}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(ticket, digest_size=8, person=b"hub-ticket").digest(), "big") >> 1


def _busy_tickets(keys: set[int]) -> set[int]:
    """On PostgreSQL, lock a chunk's tickets for the transaction that applies it (its first
    statement); returns the tickets another worker is applying now, left pending for a later sweep.

    Every worker reads the same pending rows. Without this, one worker's claim waited on another's
    uncommitted claim of the same rows, and its issue locks on the other's: under 200 deliveries/s
    that wait was most of the workers' time, and the two applied one after the other. A ticket's
    changes now apply in one worker at a time, in order, while the other takes other tickets. On
    SQLite the write turn lets one worker apply at a time already."""
    if not keys or writelock.taken_in_turn() or db.engine.dialect.name != "postgresql":
        return set()
    return set(db.session.execute(_TRY_TICKETS, {"keys": sorted(keys)}).scalars())


def _in_ticket_order(rows: Sequence[Row[*tuple[Any, ...]]]) -> list[int]:
    """Each ticket's changes in event order; the tickets in an order of this process's own, so two
    workers given the same pending rows start on different tickets instead of racing for each change."""
    salt = os.getpid()
    ordered = sorted(rows, key=lambda r: (zlib.crc32(f"{salt}:{r[1]}:{r[2]}".encode()), r[1], r[2], r[3]))
    return [r[0] for r in ordered]


#: Changes applied in one transaction: one write turn and one commit for all of them (most of what
#: applying one cost), few enough that an ack waiting for SQLite's write turn waits little.
APPLY_CHUNK = 16

_CHANGES = m.InboundChange.__table__
#: The worker's own statements, built once (values come as parameters: no per-change compile).
_PENDING_ROWS = select(_CHANGES).where(_CHANGES.c.id.in_(bindparam("ids", expanding=True)),
                                       _CHANGES.c.state == "pending")
_CLAIM_ROWS = (update(_CHANGES)
               .where(_CHANGES.c.id.in_(bindparam("ids", expanding=True)), _CHANGES.c.state == "pending")
               .values(state="applied", attempts=_CHANGES.c.attempts + 1, date_applied=bindparam("now"))
               .returning(_CHANGES.c.id))
_SETTLE_ROW = update(_CHANGES).where(_CHANGES.c.id == bindparam("change_id")).values(
    state=bindparam("state"), reason=bindparam("reason"), activity_ids=bindparam("activity_ids"),
    outcomes=bindparam("outcomes", type_=JSONOrNull))


def apply_one(change_id: int) -> bool:
    """Apply one recorded change in its own transaction; ``False`` when it was not pending."""
    return apply_many([change_id]) == 1


def apply_many(change_ids: Sequence[int]) -> int:
    """Apply these changes, in this order, in one transaction; returns how many were settled.

    First each is completed (``complete_change``: maybe a provider lookup, so before any write).
    Then, holding the write turn: one UPDATE moves the still-pending ones out of ``pending`` (what
    another worker took meanwhile is skipped), each is applied, and one commit settles them all (a
    change that raises is recorded as failed, the others still apply). A worker killed before that
    commit leaves every one pending, for another to apply once.
    """
    found = {r.id: r for r in db.session.connection().execute(_PENDING_ROWS, {"ids": list(change_ids)})}
    ready: list[tuple[Row[*tuple[Any, ...]], m.Integration | None, t.Change]] = []
    settled = 0
    for change_id in change_ids:
        row = found.get(change_id)
        if row is None:
            continue
        integration = db.session.get(m.Integration, row.integration_id)
        change: t.Change | None = None
        try:
            change = from_row(row)
            ready.append((row, integration, _complete(integration, change)))
        except (RetryLater, ApiError) as e:
            if change is not None and _applies_uncompleted(change) and _last_attempt(row.attempts, e):
                logger.warning("inbound.applied-uncompleted", extra={"change": change_id, "error": str(e)})
                ready.append((row, integration, change))  # the core's fallback, rather than nothing
            else:
                settled += _retry_or_fail(change_id, e)
        except PluginError as e:
            settled += _settle_failed(change_id, f"{type(e).__name__}: {e}")
        except Exception as e:  # a row no change type reads, a bug in complete_change: failed, the rest go on
            logger.exception("inbound.apply-failed", extra={"change": change_id})
            settled += _settle_failed(change_id, f"{type(e).__name__}: {e}"[:2000])
    if not ready:
        db.session.rollback()
        return settled
    try:
        with writelock.serialized():
            settled += _apply_claimed(ready)
    except OperationalError as e:  # the database is busy or gone: the changes stay pending, tried again
        db.session.rollback()
        logger.warning("inbound.apply-deferred", extra={"changes": len(ready), "error": type(e).__name__})
    return settled


def _apply_claimed(ready: Sequence[tuple[Row[*tuple[Any, ...]], m.Integration | None, t.Change]]) -> int:
    """Claim, apply and settle ``ready`` in one transaction (the caller holds the write turn).

    When one raises (a bug in a plugin or the core), the transaction is rolled back and each is
    applied again in a transaction of its own: the one that raises is recorded as failed with its
    error, the others apply."""
    try:
        claimed = {r.id for r in db.session.connection().execute(
            _CLAIM_ROWS, {"ids": [row.id for row, _, _ in ready], "now": utcnow()})}
        with sync.shared_reads():  # what is not claimed, another worker took
            results = [(row, _apply_claimed_one(row, integration, change))
                       for row, integration, change in ready if row.id in claimed]
        if results:  # every change's outcome in one driver call (psycopg pipelines it: one round trip)
            db.session.connection().execute(_SETTLE_ROW, [{
                "change_id": row.id, "state": result.state, "reason": result.reason,
                "activity_ids": result.activity_ids,
                "outcomes": {str(org): list(ended) for org, ended in result.by_org.items()} or None,
            } for row, result in results])
        db.session.commit()
    except OperationalError:
        raise
    except Exception as e:
        db.session.rollback()
        if len(ready) > 1:
            return sum(_apply_claimed([item]) for item in ready)
        change_id = ready[0][0].id
        logger.exception("inbound.apply-failed", extra={"change": change_id})
        return _settle_failed(change_id, f"{type(e).__name__}: {e}"[:2000])
    for row, result in results:
        logger.info("inbound.applied",
                    extra={"change": row.id, "state": result.state, "reason": result.reason})
    return len(results)


def _apply_claimed_one(
    row: Row[*tuple[Any, ...]], integration: m.Integration | None, change: t.Change
) -> sync.Applied:
    """Apply one claimed change; the caller records what it did (for the whole chunk at once)."""
    logs.bind(delivery=row.delivery_id, integration=row.integration_id)
    if integration is None or integration.status != "active":
        return sync.Applied("skipped", "integration not active")
    return sync.apply(integration, change, row.order_key)


def _complete(integration: m.Integration | None, change: t.Change) -> t.Change:
    """Ask the owning plugin for what the payload lacked (a hidden email, a status category)."""
    needs = (
        isinstance(change, t.AssigneeChange) and change.account_id
        and not (change.email if change.assign else change.replaces_email)
    ) or (
        isinstance(change, t.StatusChange)
        and (change.category is None or (change.from_status_id and change.from_category is None))
    )
    if not needs or integration is None:
        return change
    hub = current_app.extensions["hub"]
    completed = hub.hook.complete_change(integration=snapshots.integration(integration), change=change)
    return completed if isinstance(completed, t.Change) else change


def _applies_uncompleted(change: t.Change) -> bool:
    """What a change means without its completion: an unassign without whom it removed falls back to
    the user last synced with the ticket; a status change with its target's category still resolves
    or reopens by it. An assign without an email, or a status without a category, means nothing."""
    if isinstance(change, t.AssigneeChange):
        return not change.assign
    return isinstance(change, t.StatusChange) and change.category is not None


def _last_attempt(attempts: int, error: Exception) -> bool:
    """This failure would fail the change for good (its last attempt, or an error not worth retrying)."""
    return attempts + 1 >= MAX_ATTEMPTS or not getattr(error, "retryable", True)


def _retry_or_fail(change_id: int, error: HubError) -> bool:
    db.session.rollback()
    row = db.session.get(m.InboundChange, change_id)
    if row is None:
        return False
    message = getattr(error, "message", None) or str(error)
    row.attempts += 1
    if row.attempts >= MAX_ATTEMPTS or not getattr(error, "retryable", True):
        row.state, row.error = "failed", f"{type(error).__name__}: {message}"[:2000]
    else:
        delay = (
            getattr(error, "seconds", None)
            or getattr(error, "retry_after", None)
            or min(300, 2**row.attempts)
        )
        row.not_before = utcnow() + dt.timedelta(seconds=float(delay))
        row.error = f"{type(error).__name__}: {message}"[:2000]
    db.session.commit()
    logger.warning("inbound.lookup-failed", extra={"change": change_id, "attempts": row.attempts})
    return row.state == "failed"


def _settle_failed(change_id: int, error: str) -> bool:
    db.session.rollback()
    db.session.execute(update(m.InboundChange).where(m.InboundChange.id == change_id)
                       .values(state="failed", error=error, attempts=m.InboundChange.attempts + 1)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return True


# -- applying now (v1 hooks, reconcile) -------------------------------------------------------


def apply_now(integration: m.Integration, changes: Iterable[t.Change]) -> list[m.InboundChange]:
    """Record changes outside a delivery and apply them at once, through the same path.

    The v1 inbound hooks and ``hub reconcile`` use it; the caller's transaction is committed, and
    the outbound work it records is sent by the caller's flush (the request's, the job's).
    """
    rows = add_changes(list(changes), integration_id=integration.id, delivery_id=_current_delivery())
    db.session.commit()
    ids = [r.id for r in rows]
    for change_id in ids:
        apply_one(change_id)
    return list(db.session.scalars(select(m.InboundChange).where(m.InboundChange.id.in_(ids))
                                   .order_by(m.InboundChange.id)))


def _current_delivery() -> int | None:
    bound = logs.context().get("delivery")
    return bound if isinstance(bound, int) else None


# -- reading ----------------------------------------------------------------------------------

#: How many deliveries one listing shows: ``hub deliveries --limit`` and the API's ``?limit=`` take the
#: same range (out of it is refused, not clamped) and the same default.
LIST_MIN, LIST_MAX, LIST_DEFAULT = 1, 500, 50


def delivery_state(delivery: m.WebhookDelivery, changes: Sequence[m.InboundChange],
                   org_id: int | None = None) -> str:
    """A delivery's life in one word: received (changes pending), then applied when any change
    applied, else the first change's state; failed when its handler raised (outcome ``error``);
    other deliveries without changes keep their recorded outcome (v1: processed, rejected, ...)."""
    if not changes:
        return "failed" if delivery.outcome == "error" else delivery.outcome
    states = [outcome_of(c, org_id)[0] for c in changes]
    if "pending" in states:
        return "received"
    if "failed" in states:
        return "failed"
    if "applied" in states:
        return "applied"
    return states[0]


def describe(delivery: m.WebhookDelivery, changes: Sequence[m.InboundChange],
             org_id: int | None = None) -> dict[str, Any]:
    """A delivery as ``hub deliveries --json`` and the API show it (the API as ``org_id`` sees it:
    each change's state and reason are that org's)."""
    return {
        "id": delivery.id,
        "provider": delivery.provider,
        "integrationId": str(delivery.integration_id) if delivery.integration_id else None,
        "method": delivery.method,
        "endpoint": delivery.endpoint,
        "statusCode": delivery.status_code,
        "state": delivery_state(delivery, changes, org_id),
        "outcome": delivery.outcome,
        "error": delivery.error,
        "dedupeKey": delivery.dedupe_key,
        "replayOf": delivery.replay_of,
        "dateReceived": m.iso(delivery.date_received),
        "changes": [describe_change(c, org_id) for c in changes],
    }


def outcome_of(change: m.InboundChange, org_id: int | None) -> tuple[str, str | None]:
    """``(state, reason)`` of a change for one org: its own when it was settled for several (orgs
    sharing the integration), else the change's; a change pending or failed is so for every org."""
    if org_id is None or not change.outcomes or change.state in ("pending", "failed"):
        return change.state, change.reason  # a row from before per-org outcomes: the one it has
    own = change.outcomes.get(str(org_id))
    if own is None:  # settled for other orgs only (another org's replay, an org installed since)
        return "skipped", "not applied for this org"
    return own[0], own[1]


def describe_change(change: m.InboundChange, org_id: int | None = None) -> dict[str, Any]:
    state, reason = outcome_of(change, org_id)
    described = {
        "id": change.id,
        "kind": change.kind,
        "ticket": {"key": change.ticket_key, "id": change.ticket_id or None},
        "data": change.data,
        "occurredAt": change.occurred_at,  # the provider's event time, milliseconds since the epoch
        "dateOccurred": (m.iso(dt.datetime.fromtimestamp(change.occurred_at / 1000, dt.UTC))
                         if change.occurred_at is not None else None),
        "state": state,
        "reason": reason,
        "error": change.error,
        "activityIds": [str(a) for a in change.activity_ids or []],
        "attempts": change.attempts,
        "dateApplied": m.iso(change.date_applied) if change.date_applied else None,
    }
    if org_id is None and change.outcomes:  # the operator's view (hub deliveries): every org's
        described["outcomes"] = {org: {"state": s, "reason": r} for org, (s, r) in change.outcomes.items()}
    return described


def changes_by_delivery(delivery_ids: Sequence[int]) -> dict[int, list[m.InboundChange]]:
    out: dict[int, list[m.InboundChange]] = {i: [] for i in delivery_ids}
    if delivery_ids:
        for row in db.session.scalars(
            select(m.InboundChange)
            .where(m.InboundChange.delivery_id.in_(delivery_ids))
            .order_by(m.InboundChange.id)
        ):
            out.setdefault(row.delivery_id or 0, []).append(row)
    return out


def copy_delivery(original: m.WebhookDelivery, **values: Any) -> m.WebhookDelivery:
    """A new delivery row replaying ``original`` (``replay_of``), so the log stays a true history:
    the original keeps what it did, the replay shows what it does now."""
    return m.WebhookDelivery(
        provider=original.provider, endpoint=original.endpoint, method=original.method,
        query_string=original.query_string, headers=original.headers, secret_headers=original.secret_headers,
        body=original.body, outcome="received", replay_of=original.id, **values,
    )


def replay(delivery_id: int) -> tuple[m.WebhookDelivery, list[m.InboundChange]]:
    """``hub replay`` of a v2 delivery: a new delivery (``replay_of`` the original) with copies of the
    recorded changes, applied now; the original's changes keep their state, reason and activities.

    Re-verified: the integration is still installed and active, and each change passes the
    out-of-order and echo guards and the orgs' sync settings as they are now (a copy keeps its
    original's place in the ticket's event order, so it is never newer than what came after it).
    Not re-verified: the signature (the changes were recorded from a verified request; the body is
    not re-parsed). A delivery with changes still pending is refused (:class:`~hub.errors.Conflict`):
    its copies would apply now and the worker would apply the originals too.
    """
    original = db.session.get(m.WebhookDelivery, delivery_id)
    if original is None:
        raise NotFound(f"delivery {delivery_id} not found")
    recorded = changes_by_delivery([delivery_id])[delivery_id]
    if any(r.state == "pending" for r in recorded):  # copies applied now, the originals later: twice
        raise Conflict(f"Delivery {delivery_id}'s changes are still pending: the worker applies them; "
                       "replay it once they are settled.", {"delivery": ["Changes still pending."]})
    copy = copy_delivery(original, integration_id=original.integration_id, status_code=200)
    db.session.add(copy)
    db.session.flush()
    rows = [m.InboundChange(
        delivery_id=copy.id, integration_id=r.integration_id, kind=r.kind, ticket_key=r.ticket_key,
        ticket_id=r.ticket_id, data=dict(r.data or {}), occurred_at=r.occurred_at, order_key=r.order_key,
        state="pending", attempts=0, activity_ids=[],
    ) for r in recorded]
    db.session.add_all(rows)
    db.session.commit()
    copy_id = copy.id
    for row_id in [r.id for r in rows]:
        apply_one(row_id)
    replayed = db.session.get(m.WebhookDelivery, copy_id)
    assert replayed is not None  # written above
    return replayed, changes_by_delivery([copy_id])[copy_id]
