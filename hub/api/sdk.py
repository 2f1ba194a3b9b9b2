"""Sentry SDK ingestion (``/api/{project_id}/store/`` and ``/envelope/``), ``/healthz``, OpenAPI."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import zlib
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from marshmallow import ValidationError as SchemaError
from sqlalchemy import select, text

from hub import models as m
from hub.api.core import ApiAbort
from hub.api.docs import build_spec
from hub.api.schemas import EventCreate
from hub.extensions import db
from hub.ingest import ingest_event
from hub.queue import redis_problem

bp = Blueprint("sdk", __name__)
AUTH_KEY_RE = re.compile(r"sentry_key=([0-9a-fA-F]+)")
MAX_BODY = 1024 * 1024


@bp.get("/healthz")
def healthz() -> Any:
    status = {"status": "ok", "database": "ok", "redis": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        status["database"] = "down"
    if redis_problem() is not None:
        status["redis"] = "down"
    if "down" in status.values():
        status["status"] = "degraded"
        return jsonify(status), 503
    return jsonify(status)


@bp.get("/api/0/openapi.json")
def openapi() -> Any:
    from hub import __version__

    return jsonify(build_spec(__version__, current_app.config["HUB_BASE_URL"]))


def _project_for_key(project_id: str) -> m.Project:
    header = request.headers.get("X-Sentry-Auth", "") or request.headers.get("Authorization", "")
    match = AUTH_KEY_RE.search(header)
    key = match.group(1) if match else request.args.get("sentry_key")
    if not key:
        raise ApiAbort(401, "Missing DSN key (X-Sentry-Auth or sentry_key).")
    row = db.session.scalar(select(m.ProjectKey).where(m.ProjectKey.public_key == key.lower(),
                                                       m.ProjectKey.is_active.is_(True)))
    if row is None or str(row.project_id) != project_id:
        raise ApiAbort(401, "Invalid DSN key for this project.")
    project = db.session.get(m.Project, row.project_id)
    assert project is not None
    return project


def _body() -> bytes:
    if (request.content_length or 0) > MAX_BODY:
        raise ApiAbort(413, "Request body too large.")
    raw = request.get_data()
    encoding = (request.headers.get("Content-Encoding") or "").lower()
    try:
        if encoding == "gzip":
            raw = gzip.decompress(raw)
        elif encoding == "deflate":
            raw = zlib.decompress(raw)
    except (OSError, zlib.error) as e:
        raise ApiAbort(400, "Body could not be decompressed.") from e
    if len(raw) > 20 * MAX_BODY:
        raise ApiAbort(413, "Request body too large.")
    return raw


def sdk_event_to_hub(event: dict[str, Any]) -> dict[str, Any]:
    """Map a Sentry SDK event onto the hub's event fields."""
    message = ""
    exception = (event.get("exception") or {}).get("values") if isinstance(event.get("exception"), dict) else None
    if exception:
        last = exception[-1]
        message = f"{last.get('type', 'Error')}: {last.get('value', '')}".strip().rstrip(":")
    if not message:
        logentry = event.get("logentry") or {}
        message = (logentry.get("formatted") or logentry.get("message") or event.get("message") or "")
        if isinstance(message, dict):
            message = message.get("formatted") or message.get("message") or ""
    out: dict[str, Any] = {
        "message": str(message or "<unlabeled event>"),
        "event_id": event.get("event_id"),
        "level": event.get("level") or "error",
        "culprit": event.get("culprit") or event.get("transaction") or _frame_culprit(exception),
        "tags": event.get("tags") if isinstance(event.get("tags"), dict) else dict(event.get("tags") or []),
        "release": event.get("release"),
        "environment": event.get("environment"),
    }
    if event.get("fingerprint"):
        out["fingerprint"] = [str(x) for x in event["fingerprint"] if x != "{{ default }}"] or None
    ts = event.get("timestamp")
    if isinstance(ts, int | float):
        out["timestamp"] = dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()
    elif isinstance(ts, str):
        out["timestamp"] = ts if ("+" in ts[10:] or ts.endswith("Z")) else ts + "Z"
    return {k: v for k, v in out.items() if v not in (None, "")} | {"message": out["message"]}


def _frame_culprit(exception: list[dict[str, Any]] | None) -> str:
    """Sentry's culprit: the last in-app frame of the last exception, "module in function"."""
    if not exception:
        return ""
    frames = ((exception[-1].get("stacktrace") or {}).get("frames")) or []
    frames = [f for f in frames if isinstance(f, dict)]
    in_app = [f for f in frames if f.get("in_app")] or frames
    if not in_app:
        return ""
    frame = in_app[-1]
    where = frame.get("module") or frame.get("filename") or frame.get("abs_path") or "?"
    return f"{where} in {frame.get('function') or '?'}"[:1000]


def _store(project: m.Project, event: dict[str, Any]) -> str:
    try:
        fields = sdk_event_to_hub(event)
    except (AttributeError, TypeError, ValueError, OverflowError, OSError) as e:
        # Any field of an unexpected type (a string where an object goes, a huge timestamp): the
        # DSN key is public, so this is bad input from anyone, never a 500.
        raise ApiAbort(400, "Invalid event.", {"event": ["A field has an unexpected type or value."]}) from e
    try:
        data = EventCreate().load(fields)
    except SchemaError as e:
        raise ApiAbort(400, "Invalid event.", e.messages if isinstance(e.messages, dict) else {}) from e
    result = ingest_event(project, data)
    return result.event.event_id


@bp.post("/api/<project_id>/store/")
def store(project_id: str) -> Any:
    project = _project_for_key(project_id)
    try:
        event = json.loads(_body())
    except (ValueError, RecursionError) as e:
        raise ApiAbort(400, "Malformed JSON body.") from e
    if not isinstance(event, dict):
        raise ApiAbort(400, "An event must be a JSON object.")
    event_id = _store(project, event)
    db.session.commit()
    return jsonify({"id": event_id})


@bp.post("/api/<project_id>/envelope/")
def envelope(project_id: str) -> Any:
    project = _project_for_key(project_id)
    lines = _body().split(b"\n")
    try:
        header = json.loads(lines[0] or b"{}")
        if not isinstance(header, dict):
            raise ValueError("the envelope header is not an object")
        stored = None
        i = 1
        while i < len(lines):
            if not lines[i].strip():
                i += 1
                continue
            item_header = json.loads(lines[i])
            length = item_header.get("length")
            if length is not None and (not isinstance(length, int) or isinstance(length, bool) or length < 0):
                raise ValueError("an item length is not a non-negative integer")
            if length is not None:
                rest = b"\n".join(lines[i + 1:])
                payload, remainder = rest[:length], rest[length + 1:]
                lines = [b""] + remainder.split(b"\n")
                i = 1
            else:
                payload = lines[i + 1] if i + 1 < len(lines) else b""
                i += 2
            if item_header.get("type") in ("event", "error"):
                event = json.loads(payload)
                event.setdefault("event_id", header.get("event_id"))
                stored = _store(project, event)
    except (ValueError, AttributeError, TypeError, RecursionError) as e:
        db.session.rollback()
        raise ApiAbort(400, "Malformed envelope.") from e
    db.session.commit()
    return jsonify({"id": stored or header.get("event_id")})
