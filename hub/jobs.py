"""Outbound work: the outbox relay and the RQ job that runs one outbox row.

The only place that calls outbound hooks. Jobs take an outbox id only (JSON serializer), claim
the row atomically (a duplicate enqueue runs once), call the hook for one integration, and
settle the row: done, skipped, failed (permanent), or pending again with exponential backoff
and jitter until it is dead. Retries live in the database, so a Redis outage loses nothing:
the relay re-enqueues what is due, including what Redis lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable
from typing import Any, cast

import redis
from flask import Flask, current_app
from rq import get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import CursorResult, and_, or_, select, update

from hub import echoes, inbound, integrations, logs, snapshots
from hub import models as m
from hub.crypto import decrypt_json
from hub.errors import (
    ApiError,
    ApiRateLimited,
    ApiUnauthorized,
    HubError,
    PluginError,
    RetryLater,
    SyncSkipped,
)
from hub.extensions import db
from hub.models.base import utcnow
from hub.queue import get_queue, state

logger = logging.getLogger("hub.jobs")

JOB_FUNC = "hub.jobs.run_outbox"
STALE_ENQUEUED = dt.timedelta(minutes=2)
STALE_RUNNING = dt.timedelta(minutes=15)
TERMINAL = ("done", "skipped", "failed", "dead")


# -- relay ----------------------------------------------------------------------------------


def take_new_entries() -> list[str]:
    """Ids of outbox rows the current session added and committed (see ``init_app``). A request
    that never used the database has no session: none is made just to find it empty."""
    if not db.session.registry.has():
        return []
    ids: list[str] = db.session.info.pop("hub_outbox_committed", [])
    return ids


def flush() -> None:
    """Send what the last commits recorded: enqueue on RQ, or run inline when HUB_ASYNC=0."""
    ids = take_new_entries()
    if not ids:
        return
    if not current_app.config["HUB_ASYNC"]:
        run_inline(ids)
        return
    enqueue(ids)


def enqueue(ids: list[str]) -> int:
    """Put outbox rows on RQ and mark them enqueued; on a Redis outage they stay pending."""
    qs = state()
    if not ids or not qs.available():
        return 0
    queue = get_queue()
    sent: list[str] = []
    try:
        with queue.connection.pipeline() as pipe:
            for outbox_id in ids:
                queue.enqueue_call(JOB_FUNC, args=[outbox_id], job_id=outbox_id, result_ttl=600,
                                   failure_ttl=86400, pipeline=pipe)
                sent.append(outbox_id)
            pipe.execute()
        failed = FailedJobRegistry(queue=queue)
        with queue.connection.pipeline() as pipe:  # sent again (``hub outbox retry``): no longer failed in RQ
            for outbox_id in sent:
                failed.remove(outbox_id, pipeline=pipe)
            pipe.execute()
    except redis.RedisError as e:
        qs.mark_down()
        logger.warning("outbox.redis-unavailable", extra={"error": type(e).__name__, "waiting": len(ids)})
        return 0
    qs.mark_up()
    with db.engine.begin() as conn:
        conn.execute(
            update(m.OutboxEntry)
            .where(m.OutboxEntry.id.in_(sent), m.OutboxEntry.status == "pending")
            .values(status="enqueued", enqueued_at=utcnow())
        )
    return len(sent)


def relay(limit: int = 500) -> int:
    """Enqueue what is due (new, retrying, or lost by Redis); the worker calls this in a loop."""
    now = utcnow()
    with db.engine.begin() as conn:
        # A worker killed mid-job left the row running: give it back.
        conn.execute(
            update(m.OutboxEntry)
            .where(m.OutboxEntry.status == "running", m.OutboxEntry.date_updated < now - STALE_RUNNING)
            .values(status="pending", date_updated=now)
        )
        ids = list(
            conn.scalars(
                select(m.OutboxEntry.id)
                .where(
                    or_(
                        and_(m.OutboxEntry.status == "pending", m.OutboxEntry.next_attempt_at <= now),
                        and_(m.OutboxEntry.status == "enqueued",
                             m.OutboxEntry.enqueued_at < now - STALE_ENQUEUED),
                    )
                )
                .order_by(m.OutboxEntry.next_attempt_at)
                .limit(limit)
            )
        )
    if not ids:
        return 0
    lost = [i for i in ids if not _job_exists(i)]
    if lost:
        with db.engine.begin() as conn:  # re-enqueue what Redis lost
            conn.execute(update(m.OutboxEntry).where(m.OutboxEntry.id.in_(lost)).values(status="pending"))
    return enqueue(lost)


#: What the worker runs beside RQ every poll, in the app context, also while Redis is down: callables taking
#: no arguments (:mod:`hub.worker`). Adding periodic work is adding it here.
def apply_inbound() -> int:
    """Apply recorded inbound changes until none is due (they need only the database), then send
    the outbound work they recorded."""
    total = 0
    while True:
        done = inbound.apply_pending()
        total += done
        if done:
            flush()
        if done < inbound.BATCH:
            return total


def apply_inbound_job() -> int:
    """The RQ job a recorded delivery wakes (:func:`hub.inbound.wake`); two may run, each change
    applies once."""
    try:
        state().redis.delete(inbound.WAKE_KEY)
    except redis.RedisError:
        pass
    return apply_inbound()


PERIODIC: list[Callable[[], Any]] = [apply_inbound, relay]


def _job_exists(outbox_id: str) -> bool:
    try:
        job = Job.fetch(outbox_id, connection=state().redis, serializer=get_queue().serializer)
    except NoSuchJobError:
        return False
    except redis.RedisError:
        return True  # cannot tell; try again on the next pass
    return job.get_status(refresh=False) in ("queued", "started", "scheduled", "deferred")


def run_inline(ids: list[str]) -> None:
    """HUB_ASYNC=0: run the rows now, and whatever they record in turn."""
    pending = list(ids)
    while pending:
        run_outbox(pending.pop(0))
        pending += take_new_entries()


# -- the job --------------------------------------------------------------------------------


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter: base·2^(attempt-1), capped, then randomized ±50%."""
    cfg = current_app.config
    delay = min(cfg["HUB_OUTBOX_BACKOFF_MAX"], cfg["HUB_OUTBOX_BACKOFF_BASE"] * (2 ** max(0, attempt - 1)))
    return float(delay * random.uniform(0.5, 1.5))


class OutboxJobFailed(HubError):
    """Raised in the RQ job when its row ended ``failed`` or ``dead``: RQ files the job in its
    FailedJobRegistry, so ``rq info`` and rq-dashboard show it beside ``hub outbox --failed``."""


def run_outbox(outbox_id: str) -> str:
    """Run one outbox row (the RQ job). Returns the row's final state for this attempt.

    Under RQ a row that ended failed or dead also fails the job (:class:`OutboxJobFailed`), once the
    row is settled; called directly (inline mode, the CLI) it returns the state.
    """
    result = _run_outbox(outbox_id)
    if result in ("skipped", "failed", "dead"):
        _nothing_sent(outbox_id)
    if result in ("failed", "dead") and get_current_job() is not None:
        row = db.session.get(m.OutboxEntry, outbox_id)
        raise OutboxJobFailed(f"outbox {outbox_id} {result}: {row.last_error if row else ''}")
    return result


def _run_outbox(outbox_id: str) -> str:
    now = utcnow()
    claimed = cast("CursorResult[Any]", db.session.execute(
        update(m.OutboxEntry)
        .where(
            m.OutboxEntry.id == outbox_id,
            m.OutboxEntry.status.in_(("pending", "enqueued")),
            m.OutboxEntry.next_attempt_at <= now,
        )
        .values(status="running", attempts=m.OutboxEntry.attempts + 1, date_updated=now)
        .execution_options(synchronize_session=False)
    )).rowcount
    db.session.commit()
    if not claimed:
        return "not-claimed"  # done already, not due yet, or deleted with its org
    entry = db.session.get(m.OutboxEntry, outbox_id)
    assert entry is not None
    logs.clear()
    org = db.session.get(m.Organization, entry.organization_id) if entry.organization_id else None
    # The same fields as a request's lines: the org's slug, the integration's id.
    logs.bind(job=outbox_id, job_kind=entry.kind, organization=org.slug if org else None,
              integration=entry.integration_id)
    handler = HANDLERS.get(entry.kind)
    try:
        if handler is None:
            raise PluginError(f"unknown outbox kind {entry.kind!r}")
        outcome = handler(entry.payload)
    except SyncSkipped as e:
        db.session.rollback()
        return _settle(outbox_id, "skipped", outcome=e.reason)
    except RetryLater as e:
        db.session.rollback()
        return _retry(outbox_id, e.seconds, repr(e))
    except ApiRateLimited as e:
        db.session.rollback()
        return _retry(outbox_id, e.retry_after, f"rate limited: {e.message}")
    except ApiUnauthorized as e:
        db.session.rollback()
        _needs_attention(outbox_id, e.full_message)
        return _settle(outbox_id, "failed", error=f"{e.code}: {e.full_message}")
    except ApiError as e:  # the provider's words (full_message) are for operators and admins only
        db.session.rollback()
        if e.retryable:
            return _retry(outbox_id, None, f"{type(e).__name__} {e.code}: {e.full_message}")
        return _settle(outbox_id, "failed", error=f"{e.code}: {e.full_message}")
    except PluginError as e:
        db.session.rollback()
        return _settle(outbox_id, "failed", error=e.message)
    except Exception as e:  # a plugin bug: keep it visible and retry, it may be transient
        db.session.rollback()
        logger.exception("outbox.job-crashed", extra={"outbox": outbox_id})
        return _retry(outbox_id, None, f"{type(e).__name__}: {e}")
    db.session.commit()
    result = _settle(outbox_id, "done", outcome=outcome)
    _healthy_again(outbox_id)
    flush()
    return result


def _settle(outbox_id: str, status: str, *, outcome: str | None = None, error: str | None = None) -> str:
    values: dict[str, Any] = {"status": status, "date_updated": utcnow()}
    if outcome is not None:
        values["outcome"] = str(outcome)[:2000]
    if error is not None:
        values["last_error"] = error[:2000]
    db.session.execute(update(m.OutboxEntry).where(m.OutboxEntry.id == outbox_id).values(**values))
    db.session.commit()
    log = logger.warning if status in ("failed", "dead") else logger.info
    log(f"outbox.{status}", extra={"outbox": outbox_id, "outcome": outcome, "error": error})
    return status


def _retry(outbox_id: str, seconds: float | None, error: str) -> str:
    entry = db.session.get(m.OutboxEntry, outbox_id)
    if entry is None:
        return "gone"
    if entry.attempts >= current_app.config["HUB_OUTBOX_MAX_ATTEMPTS"]:
        return _settle(outbox_id, "dead", error=error)
    delay = seconds if seconds is not None else backoff_seconds(entry.attempts)
    entry.status = "pending"
    entry.last_error = error[:2000]
    entry.next_attempt_at = utcnow() + dt.timedelta(seconds=delay)
    db.session.commit()
    logger.info("outbox.retry-scheduled",
                extra={"outbox": outbox_id, "delay_s": round(delay, 2), "error": error})
    return "retry"


def _nothing_sent(outbox_id: str) -> None:
    """A status or assignee job that ended without sending withdraws its echo note: nothing will come
    back, and the ticket's next real change to that value must apply."""
    entry = db.session.get(m.OutboxEntry, outbox_id)
    if entry is None or entry.kind not in ("sync_status_outbound", "sync_assignee_outbound"):
        return
    p = entry.payload
    # ``of=``: the row's joined integration is an outer join, which PostgreSQL cannot lock
    ext = db.session.scalar(select(m.ExternalIssue).where(m.ExternalIssue.id == p["external_issue_id"])
                            .with_for_update(of=m.ExternalIssue)
                            .execution_options(populate_existing=True))
    if ext is None:
        return
    if entry.kind == "sync_status_outbound":
        echoes.withdraw(ext, "status", "resolved" if p["is_resolved"] else "unresolved")
    else:
        noted = p.get("echo")  # the value noted when queued (the user's email may have changed since)
        if noted is None:  # a row queued before the note was carried
            user = db.session.get(m.User, p["user_id"]) if p.get("user_id") else None
            noted = user.email if user else ""
        echoes.withdraw(ext, "assignee", noted)
    db.session.commit()


def _healthy_again(outbox_id: str) -> None:
    entry = db.session.get(m.OutboxEntry, outbox_id)
    if entry is not None and entry.integration_id is not None and entry.organization_id is not None:
        integrations.mark_healthy(entry.integration_id, entry.organization_id)


def _needs_attention(outbox_id: str, message: str) -> None:
    entry = db.session.get(m.OutboxEntry, outbox_id)
    if entry is not None and entry.integration_id is not None:
        integrations.mark_needs_attention(entry.integration_id, entry.organization_id, message)


# -- handlers: one per outbox kind; each calls one hook for one integration ------------------


def _pm() -> Any:
    return current_app.extensions["hub"]  # its .hook sends a provider's hooks to that provider's plugin


def _integration(integration_id: int, organization_id: int | None) -> Any:
    row = db.session.get(m.Integration, integration_id)
    if row is None or row.status != "active":
        raise SyncSkipped("integration uninstalled")
    oi = None
    if organization_id is not None:
        oi = db.session.scalar(
            select(m.OrganizationIntegration).where(
                m.OrganizationIntegration.integration_id == integration_id,
                m.OrganizationIntegration.organization_id == organization_id,
            )
        )
        if oi is None or oi.status == "disabled":
            raise SyncSkipped("integration uninstalled")
    logs.bind(provider=row.provider)
    return snapshots.integration(row, oi)


def _external_issue(external_issue_id: int) -> m.ExternalIssue:
    ext = db.session.get(m.ExternalIssue, external_issue_id)
    if ext is None:
        raise SyncSkipped("ticket unlinked")  # could have been deleted while the job waited
    return ext


def handle_sync_status_outbound(p: dict[str, Any]) -> str | None:
    ext = _external_issue(p["external_issue_id"])
    integration = _integration(ext.integration_id, ext.organization_id)
    _pm().hook.sync_status_outbound(
        integration=integration, external_issue=snapshots.external_issue(ext),
        is_resolved=bool(p["is_resolved"]), project_id=str(p["project_id"]),
    )
    return "resolved" if p["is_resolved"] else "unresolved"


def handle_sync_assignee_outbound(p: dict[str, Any]) -> str | None:
    ext = _external_issue(p["external_issue_id"])
    integration = _integration(ext.integration_id, ext.organization_id)
    user = db.session.get(m.User, p["user_id"]) if p.get("user_id") else None
    _pm().hook.sync_assignee_outbound(
        integration=integration, external_issue=snapshots.external_issue(ext),
        user=snapshots.user(user), assign=bool(p["assign"]),
    )
    ext.synced_assignee_id = user.id if user else None  # what the ticket says now (an unassign's fallback)
    return f"assigned {user.email}" if user else "unassigned"


def handle_sync_comment_outbound(p: dict[str, Any]) -> str | None:
    ext = _external_issue(p["external_issue_id"])
    activity = db.session.get(m.Activity, p["activity_id"])
    if activity is None:
        raise SyncSkipped("note deleted")
    integration = _integration(ext.integration_id, ext.organization_id)
    comments = dict((activity.data or {}).get("external_comments") or {})
    results = _pm().hook.sync_comment_outbound(
        integration=integration, external_issue=snapshots.external_issue(ext),
        activity=snapshots.activity(activity), comment_id=comments.get(str(ext.id)),
    )
    comment_id = next((r for r in results if r), None)
    if comment_id:
        comments[str(ext.id)] = str(comment_id)
        activity.data = {**(activity.data or {}), "external_comments": comments}
        db.session.commit()
    return f"comment {comment_id}" if comment_id else None


def handle_notify_issue_alert(p: dict[str, Any]) -> str | None:
    group = db.session.get(m.Group, p["group_id"])
    event = db.session.get(m.Event, p["event_id"])
    rule = db.session.get(m.AlertRule, p["rule_id"])
    if group is None or event is None or rule is None:
        raise SyncSkipped("issue, event or rule deleted")
    integration = _integration(p["integration_id"], group.organization_id)
    existing = db.session.scalar(
        select(m.NotificationMessage)
        .where(
            m.NotificationMessage.group_id == group.id,
            m.NotificationMessage.integration_id == p["integration_id"],
            m.NotificationMessage.channel_id == str(p["channel_id"]),
        )
        .order_by(m.NotificationMessage.id)
        .limit(1)
    )
    result = _pm().hook.notify_issue_alert(
        integration=integration, group=snapshots.group(group), event=snapshots.event(event),
        channel_id=str(p["channel_id"]), rule=snapshots.rule(rule),
        parent=snapshots.parent(existing) if existing else None,
    )
    if not result:
        raise PluginError(f"no plugin posted the alert for provider {integration.provider!r}")
    if existing is None:
        db.session.add(
            m.NotificationMessage(
                group_id=group.id, integration_id=p["integration_id"],
                channel_id=str(result.get("channelId") or p["channel_id"]),
                message_id=str(result["messageId"]), rule_id=rule.id,
                data={k: v for k, v in result.items() if k not in ("channelId", "messageId")},
            )
        )
        db.session.commit()
    return f"message {result['messageId']}"


def handle_notify_activity(p: dict[str, Any]) -> str | None:
    activity = db.session.get(m.Activity, p["activity_id"])
    if activity is None or activity.user is None:
        raise SyncSkipped("activity gone or not by a user")
    group = activity.group
    integration = _integration(p["integration_id"], group.organization_id)
    parents = db.session.scalars(
        select(m.NotificationMessage)
        .where(m.NotificationMessage.group_id == group.id,
               m.NotificationMessage.integration_id == p["integration_id"])
        .order_by(m.NotificationMessage.id)
    ).all()
    if not parents:
        raise SyncSkipped("no alert thread")
    _pm().hook.notify_activity(
        integration=integration, activity=snapshots.activity(activity), group=snapshots.group(group),
        parents=[snapshots.parent(x) for x in parents],
    )
    return f"{len(parents)} thread(s)"


def handle_notify_invite_request(p: dict[str, Any]) -> str | None:
    invite = db.session.get(m.InviteRequest, p["invite_request_id"])
    if invite is None or invite.status != "pending":
        raise SyncSkipped("invite request handled")
    integration = _integration(p["integration_id"], invite.organization_id)
    _pm().hook.notify_invite_request(
        integration=integration, invite_request=snapshots.invite_request(invite),
        channel_id=str(p["channel_id"]),
    )
    return "posted"


def handle_run_task(p: dict[str, Any]) -> str | None:
    """A plugin's deferred task (:func:`hub.services.defer`), on the plugin owning the integration."""
    integration = _integration(p["integration_id"], None)
    payload = (
        decrypt_json(p["sealed_payload"], default={}) if "sealed_payload" in p else p.get("payload") or {}
    )
    result = _pm().hook.run_task(integration=integration, task=p["task"], payload=payload)
    return str(result) if result is not None else None


HANDLERS: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "sync_status_outbound": handle_sync_status_outbound,
    "sync_assignee_outbound": handle_sync_assignee_outbound,
    "sync_comment_outbound": handle_sync_comment_outbound,
    "notify_issue_alert": handle_notify_issue_alert,
    "notify_activity": handle_notify_activity,
    "notify_invite_request": handle_notify_invite_request,
    "run_task": handle_run_task,
}


# -- wiring ---------------------------------------------------------------------------------


_listening = False  # the Session events are registered once per process, for every app


def init_app(app: Flask) -> None:
    """Track outbox rows per session commit, and send them after each request."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    global _listening
    if not _listening:

        @event.listens_for(Session, "after_commit")
        def _committed(session: Session) -> None:
            new = session.info.pop("hub_outbox_new", None)
            if new:
                session.info.setdefault("hub_outbox_committed", []).extend(new)

        @event.listens_for(Session, "after_soft_rollback")
        def _rolled_back(session: Session, previous_transaction: Any) -> None:
            if previous_transaction.parent is None:
                session.info.pop("hub_outbox_new", None)

        _listening = True

    @app.after_request
    def _send_outbox(response: Any) -> Any:
        try:
            flush()
        except Exception:  # the rows are committed; the relay will send them
            logger.exception("outbox.flush-failed")
        return response


# -- a retry asked for by an owner or admin ------------------------------------------------

RETRYABLE = ("failed", "dead")


def retry_entry(outbox_id: str) -> str:
    """Send a failed or dead row again with a fresh set of attempts (the sync ledger page).

    A compare-and-set on the row's status, so two admins pressing Retry at once send it once.

    :returns: ``""`` when the row is not failed or dead (nothing changed); else the attempt's
        state when run inline (``HUB_ASYNC=0``), ``"enqueued"``, or ``"pending"`` when Redis is
        unavailable (the relay sends it later).
    """
    changed = cast("CursorResult[Any]", db.session.execute(
        update(m.OutboxEntry)
        .where(m.OutboxEntry.id == outbox_id, m.OutboxEntry.status.in_(RETRYABLE))
        .values(status="pending", attempts=0, next_attempt_at=utcnow(), last_error=None)
    )).rowcount
    db.session.commit()
    if not changed:
        return ""
    if not current_app.config["HUB_ASYNC"]:
        return run_outbox(outbox_id)
    return "enqueued" if enqueue([outbox_id]) else "pending"
