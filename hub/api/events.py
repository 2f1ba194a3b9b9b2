"""Sentry's event API: an issue's events (paged), latest, by id, a project's event, attachments, tags."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import parse_qsl

from flask import Response, jsonify, request
from sqlalchemy import Row, select

from hub import models as m
from hub.api import event_schemas as es
from hub.api.core import ApiAbort, authenticated, bp, get_org, get_project
from hub.api.docs import doc
from hub.api.issues import MAX_LIMIT, _cursor_offset, _get_group, _link_header
from hub.extensions import db
from hub.models.base import iso, parse_id

TAG_NAMES = {
    "level": "Level",
    "environment": "Environment",
    "release": "Release",
    "user": "User",
    "browser": "Browser",
    "os": "OS",
    "runtime": "Runtime",
    "url": "URL",
    "server_name": "Server",
    "transaction": "Transaction",
    "handled": "Handled",
    "mechanism": "Mechanism",
}
TOP_VALUES = 10
EVENT_ID_RE = re.compile(r"[0-9a-f]{32}")


def _time(value: Any) -> str | None:
    if isinstance(value, int | float):
        try:
            return iso(dt.datetime.fromtimestamp(value, dt.UTC))
        except (OverflowError, OSError, ValueError):
            return None
    return value if isinstance(value, str) else None


def _frame(f: dict[str, Any]) -> dict[str, Any]:
    context = []
    lineno = f.get("lineno")
    if isinstance(lineno, int) and (f.get("context_line") is not None):
        pre, post = f.get("pre_context") or [], f.get("post_context") or []
        context = (
            [[lineno - len(pre) + i, line] for i, line in enumerate(pre)]
            + [[lineno, f["context_line"]]]
            + [[lineno + 1 + i, line] for i, line in enumerate(post)]
        )
    return {
        "filename": f.get("filename"),
        "absPath": f.get("abs_path"),
        "module": f.get("module"),
        "package": f.get("package"),
        "platform": f.get("platform"),
        "function": f.get("function"),
        "rawFunction": f.get("raw_function"),
        "symbol": f.get("symbol"),
        "context": context,
        "lineNo": lineno,
        "colNo": f.get("colno"),
        "inApp": bool(f.get("in_app")),
        "vars": f.get("vars"),
        "instructionAddr": f.get("instruction_addr"),
        "symbolAddr": f.get("symbol_addr"),
    }


def _stacktrace(st: dict[str, Any] | None) -> dict[str, Any] | None:
    if not st:
        return None
    frames = [_frame(f) for f in st.get("frames") or []]
    return {
        "frames": frames,
        "framesOmitted": st.get("frames_omitted"),
        "registers": st.get("registers"),
        "hasSystemFrames": any(not f["inApp"] for f in frames) and any(f["inApp"] for f in frames),
    }


def _entries(d: dict[str, Any]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    values = (d.get("exception") or {}).get("values") or []
    if values:
        out = [
            {
                "type": e.get("type"),
                "value": e.get("value"),
                "module": e.get("module"),
                "mechanism": e.get("mechanism"),
                "threadId": e.get("thread_id"),
                "stacktrace": _stacktrace(e.get("stacktrace")),
                "rawStacktrace": None,
            }
            for e in values
        ]
        entries.append(
            {
                "type": "exception",
                "data": {
                    "values": out,
                    "excOmitted": None,
                    "hasSystemFrames": any((e["stacktrace"] or {}).get("hasSystemFrames") for e in out),
                },
            }
        )
    if d.get("logentry"):
        entry = d["logentry"]
        entries.append(
            {
                "type": "message",
                "data": {
                    "formatted": entry.get("formatted") or entry.get("message"),
                    "message": entry.get("message"),
                    "params": entry.get("params"),
                },
            }
        )
    if d.get("stacktrace"):
        entries.append({"type": "stacktrace", "data": _stacktrace(d["stacktrace"])})
    if d.get("threads"):
        entries.append(
            {
                "type": "threads",
                "data": {
                    "values": [
                        {
                            **{k: v for k, v in t.items() if k != "stacktrace"},
                            "stacktrace": _stacktrace(t.get("stacktrace")),
                        }
                        for t in d["threads"].get("values") or []
                    ]
                },
            }
        )
    crumbs = (d.get("breadcrumbs") or {}).get("values") or []
    if crumbs:
        entries.append(
            {
                "type": "breadcrumbs",
                "data": {
                    "values": [
                        {
                            "type": c.get("type") or "default",
                            "category": c.get("category"),
                            "level": c.get("level") or "info",
                            "message": c.get("message"),
                            "data": c.get("data"),
                            "timestamp": _time(c.get("timestamp")),
                            "event_id": None,
                        }
                        for c in crumbs
                    ]
                },
            }
        )
    req = d.get("request")
    if isinstance(req, dict):
        headers = req.get("headers")
        if isinstance(headers, dict):
            headers = sorted([k, v] for k, v in headers.items())
        entries.append(
            {
                "type": "request",
                "data": {
                    "url": req.get("url"),
                    "method": req.get("method"),
                    "query": _pairs(req.get("query_string") or req.get("query"), "&"),
                    "fragment": req.get("fragment"),
                    "data": req.get("data"),
                    "headers": headers or [],
                    "cookies": _pairs(req.get("cookies"), ";"),
                    "env": req.get("env"),
                    "inferredContentType": None,
                },
            }
        )
    return entries


def _pairs(value: Any, separator: str) -> Any:
    """A query string or cookie header (text or object) as Sentry serves it: ``[[name, value], ...]``."""
    if isinstance(value, dict):
        return [[k, v] for k, v in value.items()]
    if not isinstance(value, str):
        return value
    if separator == "&":
        return [list(pair) for pair in parse_qsl(value.lstrip("?"), keep_blank_values=True)]
    cookies = (c.partition("=") for c in value.split(";"))
    return [[name.strip(), rest] for name, _, rest in cookies if name.strip()]


def event_json(row: m.Event, group: m.Group | None = None) -> dict[str, Any]:
    """One event in Sentry's API shape, from the Sentry event JSON in ``events.data``."""
    d = row.data or {}
    entry = d.get("logentry") or {}
    return {
        "id": row.event_id,
        "eventID": row.event_id,
        "groupID": str(row.group_id),
        "projectID": str(row.project_id),
        "title": d.get("title") or (group.title if group else row.message.splitlines()[0][:500]),
        "message": entry.get("formatted") or entry.get("message") or row.message,
        "platform": d.get("platform") or "other",
        "type": d.get("type") or "default",
        "level": row.level,
        "culprit": row.culprit,
        "dateCreated": iso(row.timestamp),
        "dateReceived": iso(row.date_received),
        "tags": [{"key": str(k), "value": str(v)} for k, v in sorted((row.tags or {}).items())],
        "user": d.get("user"),
        "contexts": d.get("contexts") or {},
        "context": d.get("extra") or {},
        "entries": _entries(d),
        "sdk": d.get("sdk"),
        "release": row.release,
        "environment": row.environment,
        "fingerprints": list(d.get("fingerprint") or []),
        "packages": d.get("modules") or {},
        "errors": [],
        "_meta": d.get("_meta") or {},
    }


def _events_of(group: m.Group) -> Any:
    return (
        select(m.Event)
        .where(m.Event.group_id == group.id)
        .order_by(m.Event.timestamp.desc(), m.Event.id.desc())
    )


@bp.get("/organizations/<org_slug>/issues/<issue_id>/events/")
@doc(
    "/api/0/organizations/{org}/issues/{id}/events/",
    "get",
    "List an issue's events, newest first (Link header pages; ?limit=, ?cursor=)",
    response=es.EventDetailOut,
    many=True,
)
@authenticated
def list_issue_events(org_slug: str, issue_id: str) -> Any:
    group = _get_group(get_org(org_slug), issue_id)
    errors: dict[str, list[str]] = {}
    try:
        limit = int(request.args.get("limit", 50))
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError
    except ValueError:
        errors["limit"] = [f"Must be an integer from 1 to {MAX_LIMIT}."]
        limit = 50
    offset = _cursor_offset(request.args.get("cursor"), errors)
    if errors:
        raise ApiAbort(400, "Invalid query.", errors)
    rows = list(db.session.scalars(_events_of(group).offset(offset).limit(limit + 1)))
    response = jsonify([event_json(e, group) for e in rows[:limit]])
    response.headers["Link"] = _link_header(offset, limit, len(rows) > limit)
    return response


@bp.get("/organizations/<org_slug>/issues/<issue_id>/events/<event_id>/")
@doc(
    "/api/0/organizations/{org}/issues/{id}/events/{event_id}/",
    "get",
    "Get one of an issue's events: an event id, or latest, oldest, recommended",
    response=es.EventDetailOut,
)
@authenticated
def get_issue_event(org_slug: str, issue_id: str, event_id: str) -> Any:
    group = _get_group(get_org(org_slug), issue_id)
    query = select(m.Event).where(m.Event.group_id == group.id)
    if event_id in ("latest", "recommended"):
        row = db.session.scalar(_events_of(group).limit(1))
    elif event_id == "oldest":
        row = db.session.scalar(query.order_by(m.Event.timestamp.asc(), m.Event.id.asc()).limit(1))
    else:
        row = db.session.scalar(query.where(m.Event.event_id == _normal_id(event_id)))
    if row is None:
        raise ApiAbort(404, "The requested resource does not exist.")
    return jsonify(event_json(row, group))


def _normal_id(value: str) -> str:
    """An event id from a URL as stored (32 hex digits); anything else matches nothing (no NUL in SQL)."""
    value = value.replace("-", "").lower()
    return value if EVENT_ID_RE.fullmatch(value) else "-"


def _project_event(org_slug: str, project_slug: str, event_id: str) -> m.Event:
    project = get_project(get_org(org_slug), project_slug)
    row = db.session.scalar(
        select(m.Event).where(m.Event.project_id == project.id, m.Event.event_id == _normal_id(event_id))
    )
    if row is None:
        raise ApiAbort(404, "The requested resource does not exist.")
    return row


@bp.get("/projects/<org_slug>/<project_slug>/events/<event_id>/")
@doc(
    "/api/0/projects/{org}/{project}/events/{event_id}/",
    "get",
    "Get a project's event by id",
    response=es.EventDetailOut,
)
@authenticated
def get_project_event(org_slug: str, project_slug: str, event_id: str) -> Any:
    row = _project_event(org_slug, project_slug, event_id)
    return jsonify(event_json(row, db.session.get(m.Group, row.group_id)))


def attachment_json(a: m.EventAttachment | Row[*tuple[Any, ...]]) -> dict[str, Any]:
    """An attachment's metadata, from its row or from a select of its columns (the list)."""
    return {
        "id": str(a.id),
        "name": a.name,
        "size": a.size,
        "mimetype": a.mimetype,
        "type": a.type,
        "sha1": a.sha1,
        "eventId": a.event_id,
        "dateCreated": iso(a.date_created),
        "headers": {"Content-Type": a.mimetype},
    }


@bp.get("/projects/<org_slug>/<project_slug>/events/<event_id>/attachments/")
@doc(
    "/api/0/projects/{org}/{project}/events/{event_id}/attachments/",
    "get",
    "List an event's attachments",
    response=es.AttachmentOut,
    many=True,
)
@authenticated
def list_attachments(org_slug: str, project_slug: str, event_id: str) -> Any:
    event = _project_event(org_slug, project_slug, event_id)  # an unknown event is a 404, as Sentry's
    rows = db.session.execute(
        select(
            m.EventAttachment.id,
            m.EventAttachment.name,
            m.EventAttachment.size,
            m.EventAttachment.mimetype,
            m.EventAttachment.type,
            m.EventAttachment.sha1,
            m.EventAttachment.event_id,
            m.EventAttachment.date_created,
        )
        .where(m.EventAttachment.project_id == event.project_id, m.EventAttachment.event_id == event.event_id)
        .order_by(m.EventAttachment.id)
    )
    return jsonify([attachment_json(r) for r in rows])


@bp.get("/projects/<org_slug>/<project_slug>/events/<event_id>/attachments/<attachment_id>/")
@doc(
    "/api/0/projects/{org}/{project}/events/{event_id}/attachments/{attachment_id}/",
    "get",
    "An attachment's details, or its exact bytes with ?download=1",
    response=es.AttachmentOut,
)
@authenticated
def get_attachment(org_slug: str, project_slug: str, event_id: str, attachment_id: str) -> Any:
    project = get_project(get_org(org_slug), project_slug)
    row = db.session.scalar(
        select(m.EventAttachment).where(
            m.EventAttachment.project_id == project.id,
            m.EventAttachment.event_id == _normal_id(event_id),
            m.EventAttachment.id == (parse_id(attachment_id) or -1),
        )
    )
    if row is None:
        raise ApiAbort(404, "The requested resource does not exist.")
    if request.args.get("download") not in (None, "", "0", "false"):
        safe = "".join(c if c.isalnum() or c in "._- " else "_" for c in row.name) or "attachment"
        return Response(
            bytes(row.content),
            mimetype="application/octet-stream",
            headers={
                "Content-Disposition": f'attachment; filename="{safe}"',
                "Content-Length": str(row.size),
                "X-Content-Type-Options": "nosniff",
            },
        )
    return jsonify(attachment_json(row))


@bp.get("/organizations/<org_slug>/issues/<issue_id>/tags/")
@doc(
    "/api/0/organizations/{org}/issues/{id}/tags/",
    "get",
    "An issue's tags with value counts, most common first",
    response=es.IssueTagOut,
    many=True,
)
@authenticated
def list_issue_tags(org_slug: str, issue_id: str) -> Any:
    group = _get_group(get_org(org_slug), issue_id)
    counts: dict[str, dict[str, list[Any]]] = {}
    rows = db.session.execute(
        select(m.Event.tags, m.Event.timestamp)
        .where(m.Event.group_id == group.id)
        .execution_options(yield_per=500)
    )
    for tags, when in rows:
        for key, value in (tags or {}).items():
            slot = counts.setdefault(str(key), {}).setdefault(str(value), [0, when, when])
            slot[0] += 1
            slot[1], slot[2] = min(slot[1], when), max(slot[2], when)
    out = []
    for key, values in counts.items():
        top = sorted(values.items(), key=lambda kv: (-kv[1][0], kv[0]))[:TOP_VALUES]
        out.append(
            {
                "key": key,
                "name": TAG_NAMES.get(key, key),
                "totalValues": sum(v[0] for v in values.values()),
                "uniqueValues": len(values),
                "topValues": [
                    {
                        "key": key,
                        "name": value,
                        "value": value,
                        "count": c,
                        "firstSeen": iso(first),
                        "lastSeen": iso(last),
                    }
                    for value, (c, first, last) in top
                ],
            }
        )
    out.sort(key=lambda t: (-t["totalValues"], t["key"]))
    return jsonify(out)
