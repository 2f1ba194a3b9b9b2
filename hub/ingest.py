"""Events in: dedupe, fingerprint, group, count, regress, and fire alert rules (FLOWS §10)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import BindParameter, bindparam, exists, null, select, update
from sqlalchemy.engine import Connection

from hub import fastjson, issues, upserts
from hub import models as m
from hub.driver import DriverStatement
from hub.errors import ValidationError
from hub.extensions import db
from hub.grouping import fingerprint_hash
from hub.models.base import utcnow
from hub.normalize import clean_string

LEVELS = ("fatal", "error", "warning", "info", "debug")


class ProjectRef(Protocol):
    """What ingest needs of a project: an ORM :class:`~hub.models.Project` or the SDK's key lookup row."""

    @property
    def id(self) -> int: ...

    @property
    def organization_id(self) -> int: ...


@dataclass
class IngestResult:
    """What was stored; ``event`` and ``group`` load the ORM rows only when a caller asks for them."""

    event_id: str
    event_pk: int
    group_id: int
    is_new: bool
    is_regression: bool
    duplicate: bool = False

    @property
    def event(self) -> m.Event:
        event = db.session.get(m.Event, self.event_pk)
        assert event is not None
        return event

    @property
    def group(self) -> m.Group:
        group = db.session.get(m.Group, self.group_id, populate_existing=True)
        assert group is not None
        return group


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


def _release_id(project_id: int, version: str) -> int | None:
    return db.session.scalar(
        select(m.Release.id).where(m.Release.project_id == project_id, m.Release.version == version))


def _should_regress(
    project_id: int, status: str, details: dict[str, Any] | None, version: str | None
) -> bool:
    """Whether an event of ``version`` reopens an issue that was ``status`` when it arrived (FLOWS §10)."""
    if status != "resolved":
        return False
    details = details or {}
    if not (details.get("inNextRelease") or details.get("inRelease")):
        return True
    if not version:
        return False  # only a newer release reopens a release-resolved issue
    pinned = details.get("release")
    if not pinned:
        return True  # no release existed at resolve time: any release is newer
    pinned_id = _release_id(project_id, pinned)
    release_id = _release_id(project_id, version)
    return pinned_id is None or (release_id is not None and release_id > pinned_id)


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


@dataclass(frozen=True)
class Found:
    """What an event reads before it writes: the issue of its first grouping hash that has one, the ids
    of its release and environment (``None`` when missing or not given), whether the project has rules."""

    group_id: int | None
    release_id: int | None
    environment_id: int | None
    has_rules: bool


def look_up(project: ProjectRef, data: dict[str, Any]) -> Found:
    """The read of an SDK event (:func:`hub.sdk_events.from_sdk`), made before the writer's turn is
    taken (:func:`hub.writelock.serialized`): SQLite's readers never wait for its writer, so the turn
    holds only the writes; :func:`ingest_event` takes the answer as ``found``."""
    return _lookup(project.id, data["hashes"], data.get("release"), data.get("environment"))


def _lookup(
    project_id: int, hashes: list[str], release: str | None, environment: str | None,
    connection: Connection | None = None,
) -> Found:
    """Everything an event reads before it writes, in one statement (one round trip, no lock taken)."""
    params: dict[str, Any] = {f"h{i}": h for i, h in enumerate(hashes)}
    params.update(project_id=project_id, release=release, environment=environment)
    row = _lookup_driver(len(hashes), bool(release), bool(environment)).first(params, connection)
    assert row is not None  # a SELECT without FROM answers one row
    group_id = next((row[i] for i in range(len(hashes)) if row[i] is not None), None)
    release_id, environment_id, has_rules = row[len(hashes):]
    return Found(group_id, release_id, environment_id, bool(has_rules))


@functools.cache
def _lookup_driver(hashes: int, release: bool, environment: bool) -> DriverStatement:
    return DriverStatement(lambda dialect: _lookup_statement(hashes, release, environment))


@functools.cache
def _lookup_statement(hashes: int, release: bool, environment: bool) -> Any:
    """Built once per shape; the values are execution parameters."""
    groups, releases = m.Group.__table__.c, m.Release.__table__.c
    environments, rules = m.Environment.__table__.c, m.AlertRule.__table__.c
    project_id: BindParameter[Any] = bindparam("project_id")
    columns: list[Any] = [
        select(groups.id).where(groups.project_id == project_id, groups.fingerprint == bindparam(f"h{i}"))
        .scalar_subquery().label(f"g{i}")
        for i in range(hashes)
    ]
    columns.append(
        select(releases.id).where(releases.project_id == project_id, releases.version == bindparam("release"))
        .scalar_subquery().label("release_id") if release else null().label("release_id"))
    columns.append(
        select(environments.id)
        .where(environments.project_id == project_id, environments.name == bindparam("environment"))
        .scalar_subquery().label("environment_id") if environment else null().label("environment_id"))
    columns.append(exists().where(rules.project_id == project_id).label("has_rules"))
    return select(*columns)


@functools.cache
def _count_driver() -> DriverStatement:
    return DriverStatement(lambda dialect: _count_statement())


#: the columns of an event row as the SDK path inserts it
EVENT_COLUMNS = ("project_id", "event_id", "group_id", "message", "level", "culprit", "release",
                 "environment", "tags", "data", "timestamp", "date_received")


@functools.cache
def _event_driver() -> DriverStatement:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING id`` of an event (``tags`` and ``data`` as JSON text)."""
    return DriverStatement(
        lambda dialect: upserts.insert_missing_statement(
            m.Event.__table__, ("project_id", "event_id"), dialect),
        keys=EVENT_COLUMNS,
    )


@functools.cache
def _count_statement() -> Any:
    """``times_seen + 1`` and ``last_seen`` of one issue, answering its status as of the row lock."""
    groups = m.Group.__table__.c
    return (
        update(m.Group.__table__).where(groups.id == bindparam("group_pk"))
        .values(times_seen=groups.times_seen + 1, last_seen=bindparam("seen"))
        .returning(groups.status, groups.status_details)
    )


def ingest_event(project: ProjectRef, data: dict[str, Any], found: Found | None = None) -> IngestResult:
    """Store one event (already validated) and update its issue; the caller commits.

    ``data`` holds the REST fields (``message``, ``culprit``, ``fingerprint``, ...); an SDK event
    (:func:`hub.sdk_events.from_sdk`) adds ``hashes`` (grouping, preferred first) and ``payload``
    (the normalized Sentry event kept in ``events.data``).

    The common case (a known issue, release and environment) is one read, then two writes: the event
    (``INSERT … ON CONFLICT DO NOTHING``: a retry or a concurrent twin stores nothing and counts
    nothing) and the issue's counter (``UPDATE … RETURNING`` its status, read under the row lock, so
    a regression is seen exactly once). Writes come last so SQLite's write lock and PostgreSQL's row
    lock on a busy issue are held for as short a time as possible.

    ``found``: :func:`look_up`'s answer, read before the caller took the writer's turn. One that found
    no issue is read again here: the writer before may have just created it (one issue, one short id).
    """
    if "payload" not in data:
        data = _rest_fields(data)
    event = _EventRow.of(data)
    release, environment = data.get("release"), data.get("environment")

    connection = db.session.connection()  # asked once for the three driver statements below
    if found is None or found.group_id is None:
        found = _lookup(project.id, event.hashes, release, environment, connection)
    if release and found.release_id is None:
        upserts.insert_missing(m.Release, {"project_id": project.id, "version": release},
                               ("project_id", "version"))
    if environment and found.environment_id is None:
        upserts.insert_missing(m.Environment, {"project_id": project.id, "name": environment},
                               ("project_id", "name"))
    group_id, is_new = found.group_id, False
    if group_id is None:
        group_id, is_new = _create_group(project, event.hashes[0], event.message, event.culprit, event.level)

    inserted = _event_driver().first(event.values(project.id, group_id), connection)
    if inserted is None:  # stored before (a retry), or a concurrent twin stored it first
        stored = db.session.execute(select(m.Event.id, m.Event.group_id).where(
            m.Event.project_id == project.id, m.Event.event_id == event.event_id)).one()
        return IngestResult(event.event_id, stored.id, stored.group_id, is_new=False, is_regression=False,
                            duplicate=True)
    event_pk = inserted[0]

    counted = _count_driver().first({"group_pk": group_id, "seen": utcnow()}, connection)
    assert counted is not None  # the issue exists: found above, or created in this transaction
    status, details = counted
    is_regression = _should_regress(project.id, status, _json_value(details), release)
    if is_new or is_regression:
        group = db.session.get(m.Group, group_id, populate_existing=True)
        assert group is not None
        if is_new:
            issues.record_activity(group, "first_seen", actor=None, data={"event_id": event.event_id})
        if is_regression:
            issues.change_status([group], "unresolved", activity_type="set_regression",
                                 extra_data={"event_id": event.event_id, "version": release})
    if found.has_rules:
        fire_rules(project, group_id, event_pk, is_new=is_new, is_regression=is_regression)
    return IngestResult(event.event_id, event_pk, group_id, is_new=is_new, is_regression=is_regression)


def is_known(data: dict[str, Any], found: Found) -> bool:
    """Whether the event can take :func:`ingest_known`: its issue, release and environment exist and
    its project has no alert rules (what the lookup found says; the writes check the issue again)."""
    release, environment = data.get("release"), data.get("environment")
    return not (found.group_id is None or found.has_rules or (release and found.release_id is None)
                or (environment and found.environment_id is None))


def ingest_known(project: ProjectRef, data: dict[str, Any], found: Found,
                 connection: Connection) -> IngestResult | None:
    """The common SDK event on ``connection``, without the ORM session: an event of an issue that
    exists and is not resolved, whose release and environment exist, in a project without alert
    rules. Its two writes are :func:`ingest_event`'s (the event, then the issue's counter).

    A retry (the event id stored before) writes nothing and answers the stored event, ``duplicate``.
    ``None`` when the event is not that case (a new issue, release or environment; an issue that
    may regress; rules to fire): the caller then rolls ``connection`` back and takes
    :func:`ingest_event`, which does the same writes and the rest. The caller holds the writer's
    turn and commits."""
    if not is_known(data, found) or found.group_id is None:
        return None
    event = _EventRow.of(data)
    inserted = _event_driver().first(event.values(project.id, found.group_id), connection)
    if inserted is None:  # stored before (a retry): nothing written, nothing counted
        stored = connection.execute(select(m.Event.id, m.Event.group_id).where(
            m.Event.project_id == project.id, m.Event.event_id == event.event_id)).one()
        return IngestResult(event.event_id, stored.id, stored.group_id, is_new=False, is_regression=False,
                            duplicate=True)
    counted = _count_driver().first({"group_pk": found.group_id, "seen": utcnow()}, connection)
    if counted is None or counted[0] == "resolved":  # gone meanwhile, or a possible regression
        return None
    return IngestResult(event.event_id, inserted[0], found.group_id, is_new=False, is_regression=False)


@dataclass(frozen=True)
class _EventRow:
    """An event's row as both ingest paths insert it."""

    event_id: str
    message: str
    culprit: str
    level: str
    hashes: list[str]
    timestamp: dt.datetime
    data: dict[str, Any]
    payload: dict[str, Any]

    @classmethod
    def of(cls, data: dict[str, Any]) -> _EventRow:
        event_id = (data.get("event_id") or uuid.uuid4().hex).replace("-", "").lower()
        message, culprit = data["message"], data.get("culprit") or ""
        hashes = data.get("hashes") or [
            fingerprint_hash([str(p) for p in data.get("fingerprint") or [message, culprit]])
        ]
        timestamp = data.get("timestamp") or utcnow()
        if isinstance(timestamp, dt.datetime) and timestamp.tzinfo is None:
            timestamp = timestamp.replace(tzinfo=dt.UTC)
        payload = data.get("payload") or _rest_payload(data, event_id, timestamp)
        return cls(event_id, message, culprit, data.get("level") or "error", hashes, timestamp, data, payload)

    def values(self, project_id: int, group_id: int) -> dict[str, Any]:
        return dict(
            project_id=project_id, event_id=self.event_id, group_id=group_id, message=self.message,
            level=self.level, culprit=self.culprit, release=self.data.get("release"),
            environment=self.data.get("environment"), tags=fastjson.dumps(self.data.get("tags") or {}),
            data=fastjson.dumps(self.payload), timestamp=self.timestamp, date_received=utcnow(),
        )


def _json_value(value: Any) -> Any:
    """A JSON column as the driver answers it: text on SQLite, already decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _create_group(project: ProjectRef, fp: str, message: str, culprit: str, level: str) -> tuple[int, bool]:
    """The issue of a new hash: ``(id, True)`` for the request that created it, ``(id, False)`` for the
    concurrent ones that waited for it (one issue, one ``first_seen``)."""
    number = db.session.execute(
        update(m.Project).where(m.Project.id == project.id)
        .values(next_short_id=m.Project.next_short_id + 1)
        .returning(m.Project.next_short_id)
    ).scalar_one() - 1
    created = upserts.insert_missing_id(m.Group, dict(
        organization_id=project.organization_id, project_id=project.id, short_number=number, fingerprint=fp,
        title=message.splitlines()[0][:500] if message else "<no message>", culprit=culprit, level=level,
        status="unresolved", status_details={}, times_seen=0,
    ), ("project_id", "fingerprint"))
    if created is not None:
        return created, True
    existing = db.session.scalar(
        select(m.Group.id).where(m.Group.project_id == project.id, m.Group.fingerprint == fp))
    assert existing is not None  # the transaction we waited for created it
    return existing, False


def fire_rules(
    project: ProjectRef, group_id: int, event_pk: int, *, is_new: bool, is_regression: bool
) -> int:
    """Record a ``notify_issue_alert`` outbox row per matching rule action."""
    fired = 0
    rules = db.session.scalars(
        select(m.AlertRule).where(m.AlertRule.project_id == project.id).order_by(m.AlertRule.id)
    )
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
                {"group_id": group_id, "event_id": event_pk, "rule_id": rule.id,
                 "integration_id": int(action["integrationId"]), "channel_id": str(action["channelId"])},
                organization_id=project.organization_id,
                integration_id=int(action["integrationId"]),
            )
            fired += 1
    return fired
