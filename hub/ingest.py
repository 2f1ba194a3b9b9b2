"""Events in: dedupe, fingerprint, group, count, regress, and fire alert rules (FLOWS §10)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from hub import issues, upserts
from hub import models as m
from hub.errors import ValidationError
from hub.extensions import db
from hub.grouping import fingerprint_hash
from hub.models.base import utcnow
from hub.normalize import clean_string

LEVELS = ("fatal", "error", "warning", "info", "debug")


@dataclass
class IngestResult:
    event: m.Event
    group: m.Group
    is_new: bool
    is_regression: bool
    duplicate: bool = False


def _release(project: m.Project, version: str | None) -> m.Release | None:
    if not version:
        return None
    release = db.session.scalar(
        select(m.Release).where(m.Release.project_id == project.id, m.Release.version == version)
    )
    if release is None:
        try:
            with db.session.begin_nested():
                release = m.Release(project_id=project.id, version=version)
                db.session.add(release)
        except IntegrityError:
            release = db.session.scalar(
                select(m.Release).where(m.Release.project_id == project.id, m.Release.version == version)
            )
    return release


def _environment(project: m.Project, name: str | None) -> None:
    if not name:
        return
    exists = db.session.scalar(
        select(m.Environment.id).where(m.Environment.project_id == project.id, m.Environment.name == name)
    )
    if exists is None:
        try:
            with db.session.begin_nested():
                db.session.add(m.Environment(project_id=project.id, name=name))
        except IntegrityError:
            pass


def latest_release(project_id: int) -> m.Release | None:
    return db.session.scalar(
        select(m.Release).where(m.Release.project_id == project_id).order_by(m.Release.id.desc()).limit(1)
    )


def resolution_details(project_id: int, details: dict[str, Any] | None) -> dict[str, Any]:
    """Pin a release resolution to a concrete version (FLOWS §10), stored on the issue."""
    if not details:
        return {}
    if details.get("inNextRelease"):
        current = latest_release(project_id)
        return {"inNextRelease": True, "release": current.version if current else None}
    version = details.get("inRelease")
    if version:
        if version == "latest":
            current = latest_release(project_id)
        else:
            current = db.session.scalar(
                select(m.Release).where(m.Release.project_id == project_id, m.Release.version == version))
        if current is None:
            raise ValidationError("Unable to find the given release.",
                                  {"statusDetails": ["Unable to find the given release."]})
        return {"inRelease": current.version, "release": current.version}
    return {}


def _should_regress(group: m.Group, release: m.Release | None) -> bool:
    if group.status != "resolved":
        return False
    details = group.status_details or {}
    if not (details.get("inNextRelease") or details.get("inRelease")):
        return True
    if release is None:
        return False  # only a newer release reopens a release-resolved issue
    pinned = details.get("release")
    if not pinned:
        return True  # no release existed at resolve time: any release is newer
    pinned_row = db.session.scalar(
        select(m.Release).where(m.Release.project_id == group.project_id, m.Release.version == pinned)
    )
    return pinned_row is None or release.id > pinned_row.id


def _rest_fields(data: dict[str, Any]) -> dict[str, Any]:
    """A REST event's strings without NULs (PostgreSQL refuses them); tag values as strings, as Sentry's."""
    out = dict(data)
    for key in ("message", "culprit", "release", "environment", "event_id"):
        if isinstance(out.get(key), str):
            out[key] = clean_string(out[key])
    if out.get("fingerprint"):
        out["fingerprint"] = [clean_string(str(x)) for x in out["fingerprint"]]
    out["tags"] = {clean_string(str(k))[:200]: clean_string(v if isinstance(v, str) else json.dumps(v))[:200]
                   for k, v in (out.get("tags") or {}).items()}
    return out


def _rest_payload(data: dict[str, Any], event_id: str, timestamp: dt.datetime) -> dict[str, Any]:
    """Sentry's event JSON for an event posted to the REST API (``events.data`` has one shape)."""
    payload: dict[str, Any] = {
        "event_id": event_id, "level": data.get("level") or "error", "platform": "other",
        "timestamp": timestamp.timestamp(), "received": utcnow().timestamp(),
        "logentry": {"formatted": data["message"]}, "culprit": data.get("culprit") or "",
        "tags": [[k, v] for k, v in (data.get("tags") or {}).items()], "type": "default",
        "title": data["message"].splitlines()[0][:500] if data["message"] else "<no message>",
    }
    for key in ("release", "environment", "fingerprint"):
        if data.get(key):
            payload[key] = data[key]
    return payload


def _find_group(project: m.Project, hashes: list[str]) -> m.Group | None:
    """The issue of the first hash that has one (grouping version 2 first, then version 1)."""
    rows = {g.fingerprint: g for g in db.session.scalars(
        select(m.Group).where(m.Group.project_id == project.id, m.Group.fingerprint.in_(hashes)))}
    return next((rows[h] for h in hashes if h in rows), None)


def ingest_event(project: m.Project, data: dict[str, Any]) -> IngestResult:
    """Store one event (already validated) and update its issue; the caller commits.

    ``data`` holds the REST fields (``message``, ``culprit``, ``fingerprint``, ...); an SDK event
    (:func:`hub.sdk_events.from_sdk`) adds ``hashes`` (grouping, preferred first) and ``payload``
    (the normalized Sentry event kept in ``events.data``).
    """
    if "payload" not in data:
        data = _rest_fields(data)
    event_id = (data.get("event_id") or uuid.uuid4().hex).replace("-", "").lower()
    existing = db.session.scalar(
        select(m.Event).where(m.Event.project_id == project.id, m.Event.event_id == event_id)
    )
    if existing is not None:
        group = db.session.get(m.Group, existing.group_id)
        assert group is not None
        return IngestResult(existing, group, is_new=False, is_regression=False, duplicate=True)

    message = data["message"]
    culprit = data.get("culprit") or ""
    level = data.get("level") or "error"
    hashes = data.get("hashes") or [fingerprint_hash([str(p) for p in data.get("fingerprint") or [message, culprit]])]
    timestamp = data.get("timestamp") or utcnow()
    if isinstance(timestamp, dt.datetime) and timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=dt.UTC)
    payload = data.get("payload") or _rest_payload(data, event_id, timestamp)
    release = _release(project, data.get("release"))
    _environment(project, data.get("environment"))

    group = _find_group(project, hashes)
    is_new = group is None
    if group is None:
        group = _create_group(project, hashes[0], message, culprit, level)
        is_new = group.times_seen == 0
    event, claimed = _claim_event(project, event_id, dict(
        group_id=group.id, message=message, level=level, culprit=culprit,
        release=data.get("release"), environment=data.get("environment"), tags=data.get("tags") or {},
        data=payload,
        timestamp=timestamp,
    ))
    if not claimed:  # a concurrent twin stored this event id first
        existing_group = db.session.get(m.Group, event.group_id)
        assert existing_group is not None
        return IngestResult(event, existing_group, is_new=False, is_regression=False, duplicate=True)
    now = utcnow()
    is_regression = _should_regress(group, release)
    db.session.execute(
        update(m.Group).where(m.Group.id == group.id)
        .values(times_seen=m.Group.times_seen + 1, last_seen=now)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(group, ["times_seen", "last_seen"])
    if is_new:
        issues.record_activity(group, "first_seen", actor=None, data={"event_id": event_id})
    if is_regression:
        issues.change_status([group], "unresolved", activity_type="set_regression",
                             extra_data={"event_id": event_id, "version": data.get("release")})
    fire_rules(project, group, event, is_new=is_new, is_regression=is_regression)
    return IngestResult(event, group, is_new=is_new, is_regression=is_regression)


def _claim_event(project: m.Project, event_id: str, values: dict[str, Any]) -> tuple[m.Event, bool]:
    """Store the event unless its id is taken: ``(event, False)`` when a concurrent twin stored it first.

    One ``INSERT … ON CONFLICT DO NOTHING`` before the issue is counted, so a twin never counts twice.
    """
    claimed = upserts.insert_missing(m.Event, {"project_id": project.id, "event_id": event_id, **values},
                                     ("project_id", "event_id"))
    event = db.session.scalar(
        select(m.Event).where(m.Event.project_id == project.id, m.Event.event_id == event_id))
    assert event is not None
    return event, claimed


def _create_group(project: m.Project, fp: str, message: str, culprit: str, level: str) -> m.Group:
    number = db.session.execute(
        update(m.Project).where(m.Project.id == project.id)
        .values(next_short_id=m.Project.next_short_id + 1)
        .returning(m.Project.next_short_id)
    ).scalar_one() - 1
    try:
        with db.session.begin_nested():
            group = m.Group(
                organization_id=project.organization_id, project_id=project.id, project=project, short_number=number,
                fingerprint=fp, title=message.splitlines()[0][:500] if message else "<no message>", culprit=culprit,
                level=level, status="unresolved", status_details={}, times_seen=0,
            )
            db.session.add(group)
    except IntegrityError:  # another request created it first
        group = db.session.scalar(select(m.Group).where(m.Group.project_id == project.id, m.Group.fingerprint == fp))
        assert group is not None
    return group


def fire_rules(project: m.Project, group: m.Group, event: m.Event, *, is_new: bool, is_regression: bool) -> int:
    """Record a ``notify_issue_alert`` outbox row per matching rule action."""
    fired = 0
    rules = db.session.scalars(select(m.AlertRule).where(m.AlertRule.project_id == project.id).order_by(m.AlertRule.id))
    for rule in rules:
        conditions = {c.get("id") for c in rule.conditions or []}
        if not (
            "every_event" in conditions
            or ("first_seen_event" in conditions and is_new)
            or ("regression_event" in conditions and is_regression)
        ):
            continue
        for action in rule.actions or []:
            issues.add_outbox(
                "notify_issue_alert",
                {"group_id": group.id, "event_id": event.id, "rule_id": rule.id,
                 "integration_id": int(action["integrationId"]), "channel_id": str(action["channelId"])},
                organization_id=project.organization_id,
                integration_id=int(action["integrationId"]),
            )
            fired += 1
    return fired
