"""Sentry SDK ingestion (``/api/{project_id}/store/`` and ``/envelope/``), ``/healthz``, OpenAPI.

Order per request, as Relay: authenticate (``X-Sentry-Auth``, ``?sentry_key=``, or the envelope
header's ``dsn``), check the origin, read and decompress under the caps, parse, rate-limit, store in
one transaction. Nothing is stored when any event of the request is refused.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from hub import driver, groupcommit, inputs, sdk_quota, writelock
from hub import models as m
from hub.api.core import ApiAbort
from hub.api.docs import build_spec
from hub.decompress import BadEncoding, BodyTooLarge, decompress, read_chunks
from hub.driver import DriverStatement
from hub.envelope import Envelope, EnvelopeError, Item, parse, parse_header
from hub.extensions import db
from hub.ingest import Found, ingest_event, ingest_known, is_known, look_up
from hub.models.base import parse_id
from hub.normalize import EventError
from hub.queue import redis_problem
from hub.sdk_events import from_sdk

bp = Blueprint("sdk", __name__)
logger = logging.getLogger("hub.sdk")
AUTH_KEY_RE = re.compile(r"sentry_key\s*=\s*([^,\s]+)")
KEY_RE = re.compile(r"^[0-9a-f]{32}$")
EVENT_ITEMS = ("event",)
SDK_ENDPOINTS = ("sdk.store", "sdk.envelope", "sdk.preflight")
CORS_HEADERS = (
    "x-sentry-auth, x-requested-with, origin, accept, content-type, content-encoding, authentication, "
    "authorization, traceparent, baggage, sentry-trace"
)
CORS_EXPOSE = "x-sentry-error, x-sentry-rate-limits, retry-after"


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


# -- authentication -----------------------------------------------------------------------------


def _request_key() -> str | None:
    """The public key of ``X-Sentry-Auth`` (or ``Authorization: Sentry ...``), else ``?sentry_key=``."""
    header = request.headers.get("X-Sentry-Auth", "")
    if not header:
        authorization = request.headers.get("Authorization", "")
        header = authorization if authorization.lower().startswith("sentry ") else ""
    match = AUTH_KEY_RE.search(header)
    return match.group(1) if match else request.args.get("sentry_key")


def _dsn_parts(dsn: Any) -> tuple[str | None, str | None]:
    """(public key, project id) of a DSN string (the envelope header of a ``tunnel``)."""
    if not isinstance(dsn, str) or len(dsn) > 2000:
        return None, None
    try:
        url = urlsplit(dsn.strip())
        key = url.username
    except ValueError:
        return None, None
    project = url.path.rstrip("/").rsplit("/", 1)[-1] if url.path else None
    return key or None, project or None


@dataclass(frozen=True)
class SdkKey:
    """A DSN key and what ingest needs of its project, read by one indexed query on every request.

    Not cached: the query costs about what a cache's version check would, and a key disabled (or a
    rate limit changed) through any process is seen by every process on the very next request.
    """

    id: int
    project_id: int
    is_active: bool
    rate_limit_window: int | None
    rate_limit_count: int | None
    organization_id: int
    allowed_origins: str
    public_key: str  # names its rate-limit counter


@dataclass(frozen=True)
class SdkProject:
    """The project of an :class:`SdkKey` (what :func:`hub.ingest.ingest_event` and CORS read)."""

    id: int
    organization_id: int
    allowed_origins: str


def _authenticate(project_id: str, key: str | None) -> SdkKey:
    if not key:
        raise ApiAbort(401, "Missing DSN key (X-Sentry-Auth, sentry_key or the envelope's dsn).")
    key = key.strip().lower()
    pid = parse_id(project_id)
    if not KEY_RE.match(key) or pid is None:
        raise ApiAbort(401, "Invalid DSN key for this project.")
    row = _KEY.first({"public_key": key})
    if row is None or row[1] != pid:
        raise ApiAbort(401, "Invalid DSN key for this project.")
    found = SdkKey(*row)
    if not found.is_active:  # SQLite answers 0 or 1
        raise ApiAbort(403, "This DSN key is disabled.")
    return found


def _key_statement(dialect: str = "") -> Any:
    keys, projects = m.ProjectKey.__table__.c, m.Project.__table__.c
    return (
        select(keys.id, keys.project_id, keys.is_active, keys.rate_limit_window, keys.rate_limit_count,
               projects.organization_id, projects.allowed_origins, keys.public_key)
        .join_from(m.ProjectKey.__table__, m.Project.__table__, projects.id == keys.project_id)
        .where(keys.public_key == bindparam("public_key"))
    )


_KEY = DriverStatement(_key_statement)


def _project(key: SdkKey) -> SdkProject:
    project = SdkProject(key.project_id, key.organization_id, key.allowed_origins or "*")
    g.sdk_project = project  # for the CORS headers of the answer
    return project


# -- CORS (browser SDKs) ------------------------------------------------------------------------


def origin_allowed(project: m.Project | SdkProject, origin: str) -> bool:
    """Sentry's "allowed domains": ``*``, an exact origin, a host, or ``*.example.com``."""
    entries = [x.strip().lower() for x in (project.allowed_origins or "*").splitlines() if x.strip()]
    if not entries or "*" in entries:
        return True
    origin = origin.strip().lower()
    try:
        host = urlsplit(origin).hostname or ""
    except ValueError:
        return False
    for entry in entries:
        if "://" in entry:
            if entry.rstrip("/") == origin.rstrip("/"):
                return True
        elif entry.startswith("*."):
            if host == entry[2:] or host.endswith(entry[1:]):
                return True
        elif host == entry:
            return True
    return False


DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of_url(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL (a default port left out, as a browser's Origin
    does); ``None`` for anything else."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" if port in (None, DEFAULT_PORTS[scheme]) else f"{scheme}://{shown}:{port}"


def request_origin() -> str | None:
    """The origin a request came from, as Sentry and Relay read it: its ``Origin``, else (none, or the
    privacy ``null``) its ``Referer``'s origin, so a browser that sends only a Referer is checked too."""
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return origin
    return origin_of_url(request.headers.get("Referer"))


def _check_origin(project: SdkProject) -> None:
    origin = request_origin()
    if origin and not origin_allowed(project, origin):
        raise ApiAbort(
            403, "Invalid origin.", {"origin": [f"{origin} is not an allowed origin of this project."]}
        )


@bp.route(
    "/api/<project_id>/store/", methods=["OPTIONS"], endpoint="preflight", provide_automatic_options=False
)
@bp.route(
    "/api/<project_id>/envelope/", methods=["OPTIONS"], endpoint="preflight", provide_automatic_options=False
)
def preflight(project_id: str) -> Any:
    return "", 200


@bp.after_request
def _cors(response: Any) -> Any:
    if request.endpoint not in SDK_ENDPOINTS:
        return response
    origin = request.headers.get("Origin")
    pid = parse_id((request.view_args or {}).get("project_id"))
    project: m.Project | SdkProject | None = g.get("sdk_project")
    if origin and (project is None or project.id != pid):
        project = db.session.get(m.Project, pid) if pid else None
    if not origin:
        response.headers["Access-Control-Allow-Origin"] = "*"
    elif project is not None and origin_allowed(project, origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "3600"
    if response.status_code >= 400 and response.is_json:
        detail = (response.get_json(silent=True) or {}).get("detail")
        if isinstance(detail, str):
            response.headers["X-Sentry-Error"] = detail
    return response


# -- the body -----------------------------------------------------------------------------------


def _body() -> bytes:
    """The decompressed body, read and inflated incrementally under the configured caps."""
    config = current_app.config
    limit = int(config["HUB_SDK_MAX_ENVELOPE"])
    if (request.content_length or 0) > limit:
        raise ApiAbort(413, f"Envelope too large (limit {limit} bytes).")
    request.max_content_length = limit
    encoding = request.headers.get("Content-Encoding", "")
    cap = int(config["HUB_SDK_MAX_DECOMPRESSED"])
    try:
        return decompress(read_chunks(request.stream, limit), encoding, cap)
    except BodyTooLarge as e:
        raise ApiAbort(413, f"Envelope too large ({e}).") from e
    except BadEncoding as e:
        raise ApiAbort(400, f"Body could not be decompressed: {e}.", {"body": [str(e)]}) from e


def _legacy_store_body(body: bytes) -> bytes:
    """Old SDKs post /store/ bodies as base64 of zlib without a Content-Encoding."""
    if body.lstrip()[:1] in (b"{", b"[", b""):
        return body
    try:
        packed = base64.b64decode(body, validate=False)
        return decompress([packed], "deflate", int(current_app.config["HUB_SDK_MAX_DECOMPRESSED"]))
    except (binascii.Error, ValueError, BadEncoding):
        return body
    except BodyTooLarge as e:
        raise ApiAbort(413, f"Event too large ({e}).") from e


def _json_object(payload: bytes, what: str, detail: str = "Malformed JSON body.") -> dict[str, Any]:
    try:
        value = inputs.loads_storable(payload)
    except (ValueError, RecursionError) as e:
        raise ApiAbort(400, detail, {what: ["Not valid JSON."]}) from e
    if not isinstance(value, dict):
        raise ApiAbort(400, detail, {what: ["Must be a JSON object."]})
    return value


# -- storing ------------------------------------------------------------------------------------


def _rate_limit(key: SdkKey, events: int) -> None:
    limited = sdk_quota.take(key, events)
    if limited is not None:
        sdk_quota.count_outcome(key.project_id, "error", "rate_limited", events)
        raise RateLimited(limited)


@contextlib.contextmanager
def _given_back_if_refused(key: SdkKey, events: int) -> Iterator[None]:
    """Counted before parsing (an SDK over its limit is answered 429 without its events being
    read), uncounted when the events are then refused: only what is stored uses up the quota."""
    try:
        yield
    except BaseException:
        sdk_quota.give_back(key, events)
        raise


class RateLimited(ApiAbort):
    def __init__(self, limited: sdk_quota.Limited) -> None:
        super().__init__(429, "Rate limit exceeded for this DSN key's project.")
        self.limited = limited


@bp.errorhandler(RateLimited)
def _rate_limited(e: RateLimited) -> Any:
    db.session.rollback()
    response = jsonify({"detail": e.detail, "errors": {}})
    response.status_code = 429
    response.headers["Retry-After"] = str(e.limited.retry_after)
    response.headers["X-Sentry-Rate-Limits"] = (
        f"{e.limited.retry_after}:error;default;security:{e.limited.scope}"
    )
    return response


def _event_data(raw: dict[str, Any], source_size: int, fallback_event_id: Any = None) -> dict[str, Any]:
    """The normalized event (a 400 for a broken one), made before the transaction's first write.
    ``{{auto}}`` addresses become the client's as the request came (after HUB_PROXY_FIX's ProxyFix)."""
    try:
        return from_sdk(raw, fallback_event_id=fallback_event_id, source_size=source_size,
                        client_ip=request.remote_addr)
    except EventError as e:
        raise ApiAbort(400, "Invalid event.", {e.field: [e.message]}) from e
    except RecursionError as e:
        raise ApiAbort(400, "Invalid event.", {"event": ["Nested too deeply."]}) from e


def _once(project: SdkProject, event_id: str | None, work: Any) -> Any:
    """Run ``work`` and commit; the loser of identical concurrent requests (same event id) finds the
    winner's event and answers as for a retry: one effect, never a 500."""
    try:
        with writelock.serialized():
            result = work()
            db.session.commit()
        return result
    except IntegrityError:
        db.session.rollback()
        exists = event_id and db.session.scalar(
            select(m.Event.id).where(m.Event.project_id == project.id, m.Event.event_id == event_id)
        )
        if not exists:
            raise
        return event_id


def _header_text(value: Any, limit: int) -> str | None:
    """An item header's text as stored: storable (no NUL, no lone surrogate), cut to its column."""
    if not isinstance(value, str) or not value.strip():
        return None
    return inputs.strip_nul(value)[:limit] or None


def _attachment(project: SdkProject, item: Item, event_id: str | None) -> str | None:
    """Store one attachment item; the reason it was dropped otherwise."""
    if len(item.payload) > int(current_app.config["HUB_SDK_MAX_ATTACHMENT"]):
        return "too_large"
    if not event_id:
        return "no_event_id"
    name = _header_text(item.headers.get("filename"), 256) or "attachment"
    sha1 = hashlib.sha1(item.payload).hexdigest()
    if db.session.scalar(
        select(m.EventAttachment.id).where(
            m.EventAttachment.project_id == project.id,
            m.EventAttachment.event_id == event_id,
            m.EventAttachment.name == name,
            m.EventAttachment.sha1 == sha1,
        )
    ):
        return None  # a retried envelope: already stored
    mimetype = _header_text(item.headers.get("content_type"), 128)
    kind = _header_text(item.headers.get("attachment_type"), 64)
    db.session.add(
        m.EventAttachment(
            project_id=project.id,
            event_id=event_id,
            name=name,
            size=len(item.payload),
            sha1=sha1,
            content=item.payload,
            mimetype=mimetype or "application/octet-stream",
            type=kind or "event.attachment",
            date_created=dt.datetime.now(dt.UTC),
        )
    )
    return None


def _event_id(value: Any) -> str | None:
    import uuid

    try:
        return uuid.UUID(value).hex if isinstance(value, str) else None
    except ValueError:
        return None


@bp.post("/api/<project_id>/store/")
def store(project_id: str) -> Any:
    with driver.own_connection() as own:
        with driver.on(own):
            key = _authenticate(project_id, _request_key())
            project = _project(key)
            _check_origin(project)
            body = _legacy_store_body(_body())
            raw = _json_object(body, "event")
            if raw.get("type") == "transaction":
                sdk_quota.count_outcome(project.id, "transaction", "accepted")
                return _stored(_event_id(raw.get("event_id")))
            _rate_limit(key, 1)
            with _given_back_if_refused(key, 1):
                data = _event_data(raw, len(body))
                found = look_up(project, data)
        stored = _store_known(project, data, found, own)
    if stored is None:
        stored = _once(project, data["event_id"], lambda: ingest_event(project, data, found).event_id)
    return _stored(stored)


def _store_known(project: SdkProject, data: dict[str, Any], found: Found, own: Connection) -> str | None:
    """The common event (:func:`hub.ingest.ingest_known`) stored and committed with the other writes
    of the process that come meanwhile (:mod:`hub.groupcommit`): no ORM session begun, flushed,
    committed or closed. ``None`` (nothing written) when the event needs
    :func:`hub.ingest.ingest_event`'s whole path."""
    if not is_known(data, found):
        return None

    def write(connection: Connection) -> str:
        result = ingest_known(project, data, found, connection)
        if result is None:  # the issue changed meanwhile: undo the event's row too
            raise _NotKnown
        return result.event_id

    try:
        return groupcommit.writes.write(write, own)
    except _NotKnown:
        return None


class _NotKnown(Exception):
    """The issue turned out resolved or gone in the writer's turn (nothing of the event is kept)."""


@bp.post("/api/<project_id>/envelope/")
def envelope(project_id: str) -> Any:
    with driver.own_connection() as own:
        with driver.on(own):  # the reads: key, issue, release, environment, rules
            key, env, datas, founds = _read_envelope(project_id)
        project = g.sdk_project
        header_event_id = _event_id(env.headers.get("event_id"))
        stored_id = None
        if len(datas) == 1 and not any(item.type == "attachment" for item in env.items):
            stored_id = _store_known(project, datas[0], founds[0], own)
    dropped: dict[str, int] = {}
    # sessions, client reports, transactions: counted in Redis once stored, outside the writer's turn
    accepted = [item.type or "unknown" for item in env.items if item.type not in (*EVENT_ITEMS, "attachment")]

    def work() -> str | None:
        stored_id, duplicate = header_event_id, False
        for data, found in zip(datas, founds, strict=True):
            result = ingest_event(project, data, found)
            stored_id, duplicate = result.event_id, duplicate or result.duplicate
        for item in env.items:
            if item.type == "attachment":
                reason = None if duplicate else _attachment(project, item, stored_id)
                if reason:
                    dropped[reason] = dropped.get(reason, 0) + 1
        return stored_id

    if stored_id is None:
        first_id = datas[0]["event_id"] if datas else header_event_id
        stored_id = _once(project, first_id if datas else None, work)
    for category in accepted:
        sdk_quota.count_outcome(project.id, category, "accepted")
    for reason, quantity in dropped.items():
        sdk_quota.count_outcome(project.id, "attachment", reason, quantity)
        logger.info("sdk.attachment-dropped", extra={"reason": reason, "quantity": quantity})
    return _stored(stored_id)


def _stored(event_id: str | None) -> Any:
    """Relay's answer: the event's id, or ``{}`` when the request held no event (a session, a client
    report, a transaction sent without an id)."""
    return jsonify({"id": event_id} if event_id else {})


def _read_envelope(project_id: str) -> tuple[SdkKey, Envelope, list[dict[str, Any]], list[Found]]:
    """Authenticate, decompress, parse and normalize an envelope, and read what its events need
    (nothing written yet): the key, the envelope, each event's data and :func:`look_up`."""
    key_value = _request_key()
    body: bytes | None = None
    if not key_value:  # a tunnel: the envelope header's dsn is the credential (only that line is read)
        body = _body()
        try:
            dsn_key, dsn_project = _dsn_parts(parse_header(body).get("dsn"))
        except EnvelopeError as e:
            raise ApiAbort(401, "Missing DSN key (X-Sentry-Auth, sentry_key or the envelope's dsn).") from e
        if dsn_project is not None and dsn_project != project_id:
            raise ApiAbort(401, "The envelope's dsn names another project.")
        key_value = dsn_key
    key = _authenticate(project_id, key_value)
    project = _project(key)
    _check_origin(project)
    if body is None:
        body = _body()
    try:
        env = parse(body)
    except EnvelopeError as e:
        raise ApiAbort(400, "Malformed envelope.", {"envelope": [str(e)]}) from e
    header_event_id = _event_id(env.headers.get("event_id"))
    events = [item for item in env.items if item.type in EVENT_ITEMS]
    _rate_limit(key, len(events))
    with _given_back_if_refused(key, len(events)):
        raws = [_json_object(item.payload, "event", "Malformed envelope.") for item in events]
        datas = [
            _event_data(raw, len(item.payload), fallback_event_id=header_event_id)
            for raw, item in zip(raws, events, strict=True)
        ]
        return key, env, datas, [look_up(project, data) for data in datas]
