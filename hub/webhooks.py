"""``/extensions/<provider>/<path:endpoint>``: the one door for providers.

v2 (a plugin declaring ``webhook_routes``): match the route (404 / 405 with ``Allow``) → its size
limit → ``verify`` before anything is parsed → ``handle``. An :class:`~hub.types.Inbound` is
claimed, recorded with its changes in one write and acknowledged; ``hub worker`` applies it
(:mod:`hub.inbound`). A :class:`~hub.types.WebhookResponse` is a synchronous answer, recorded.

v1 (``on_webhook``): size limit → delivery row (headers, query and body without secrets) →
``on_webhook`` → the answer recorded. ``request.already_processed(key)`` claims the key (unique,
committed) before the plugin's effects; a delivery that fails (not 2xx, or ``retry=True``) gives
it back so a redelivery may try again. A plugin exception becomes a logged, recorded 500 JSON
error, never a stack trace.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, Response, current_app, render_template, request
from sqlalchemy import bindparam, insert, update
from sqlalchemy.engine import Connection
from werkzeug.exceptions import RequestEntityTooLarge

from hub import driver, fastjson, groupcommit, inbound, inputs, jobs, logs, security, upserts, writelock
from hub import models as m
from hub.auth import current_user
from hub.crypto import encrypt_json
from hub.dispatch import (
    dispatch,
    error_response,
    identified,
    public_endpoint,
    record_answer,
    release,
    to_response,
)
from hub.driver import DriverStatement
from hub.extensions import db
from hub.http import is_secret_header
from hub.models.base import utcnow
from hub.routes import NoMatch
from hub.snapshots import user as user_snapshot
from hub.types import Inbound, WebhookRequest, WebhookResponse, at_most_128, claim_key

logger = logging.getLogger("hub.webhooks")
bp = Blueprint("webhooks", __name__)

MAX_BODY = 1024 * 1024


def _json_error(status: int, detail: str, errors: dict[str, Any] | None = None,
                headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps({"detail": detail, "errors": errors or {}}), status=status,
                    mimetype="application/json", headers=headers)



#: Query parameters that carry a credential: a Connect page's ``jwt``, an OAuth ``code``/``state``,
#: OAuth 1.0a's ``oauth_token``/``oauth_verifier``, and anything named like a token or a secret.
SECRET_QUERY_WORDS = ("jwt", "code", "state", "verifier", *logs.SECRET_WORDS)


def public_query(query_string: str) -> str:
    """The query string as the delivery log shows it: credential parameters are ``[redacted]``."""
    def secret(name: str) -> bool:
        return any(word in name.lower() for word in SECRET_QUERY_WORDS)

    pairs = parse_qsl(query_string, keep_blank_values=True)
    if not any(secret(k) for k, _ in pairs):
        return query_string
    return urlencode([(k, "[redacted]" if secret(k) else v) for k, v in pairs])


def public_body(body: bytes, mimetype: str) -> bytes:
    """The body as the delivery log shows it: secret-named fields of a JSON object or a form (a
    Connect install's ``sharedSecret``, an interaction ``token``, also inside a form's JSON
    ``payload``) are ``[redacted]``; anything else is kept as it came."""
    lowered = body.lower()
    if b"\\u" not in body and b"%" not in body and not any(w.encode() in lowered for w in logs.SECRET_WORDS):
        return body  # no field can be named like a secret (no escapes either): nothing to redact, no parse
    try:
        if mimetype == "application/x-www-form-urlencoded":
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
            shown = [(k, _public_value(k, v)) for k, v in pairs]
            return urlencode(shown).encode() if shown != pairs else body
        if body.lstrip()[:1] in (b"{", b"["):  # JSON may start with whitespace: still redacted
            data = json.loads(body)
            redacted = logs.redact(data)
            return json.dumps(redacted).encode() if redacted != data else body
    except (ValueError, RecursionError):
        pass
    return body


def _public_value(key: str, value: str) -> str:
    if logs.redact(value, key) != value:
        return "[redacted]"
    if value.lstrip()[:1] in ("{", "["):
        try:
            data = json.loads(value)
        except (ValueError, RecursionError):
            return value
        redacted = logs.redact(data)
        return json.dumps(redacted) if redacted != data else value
    return value


def _claim(provider: str, key: str, delivery_id: int) -> bool:
    """Claim a dedupe key for this delivery, atomically and before any effect; ``True`` when it
    was taken already (a duplicate: concurrent twin or redelivery). Committed at once so twins see it."""
    claimed = upserts.insert_missing(
        m.WebhookClaim, {"provider": provider, "dedupe_key": key, "delivery_id": delivery_id},
        ("provider", "dedupe_key"))
    db.session.commit()
    return not claimed



METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
V1_METHODS = ("GET", "HEAD", "POST")


@bp.route("/extensions/<provider>/", defaults={"endpoint": ""}, methods=METHODS,
          provide_automatic_options=False)
@bp.route("/extensions/<provider>/<path:endpoint>", methods=METHODS, provide_automatic_options=False)
def extension(provider: str, endpoint: str) -> Response:
    hub = current_app.extensions["hub"]
    if provider not in hub.providers():
        return _json_error(404, f"Unknown provider {provider!r}.")
    table = hub.routes(provider)
    route = params = None
    limit = MAX_BODY
    if table is not None:
        found = table.match(endpoint, request.method)
        if isinstance(found, NoMatch):
            if found.status == 405:
                return _not_allowed(found.allow)
            return _json_error(404, "Not found.")
        route, params, limit = found.route, found.params, found.route.max_bytes
    elif request.method not in V1_METHODS:  # on_webhook is offered GET and POST, as in v1
        return _not_allowed(("GET", "HEAD", "POST"))
    nul = inputs.first_nul([("path", endpoint), *request.headers.items()])
    if nul is not None:  # no route or header has one, and the delivery log could not store it
        return _json_error(400, "The URL path and headers must not contain NUL characters.",
                           {nul: ["Must not contain NUL characters."]})
    if (request.content_length or 0) > limit:
        return _too_large(provider, endpoint, limit, request.content_length)
    try:
        body = request.get_data(cache=True)
    except RequestEntityTooLarge:  # a body of no announced length, past the app's hard stop
        return _too_large(provider, endpoint, limit, None)
    if len(body) > limit:
        return _too_large(provider, endpoint, limit, len(body))
    if security.session_post_unconfirmed():  # a plugin page's form acting for the logged-in user
        return _form_expired()
    logs.bind(provider=provider)
    if route is not None:
        return _v2(provider, endpoint, route, params or {}, body)
    delivery = _delivery_row(provider, endpoint, body)
    db.session.add(delivery)
    db.session.commit()
    delivery_id = delivery.id
    form = request.form if request.mimetype == "application/x-www-form-urlencoded" else None
    hub_request = WebhookRequest(  # what plugins read is NUL-free (json() too); the signed bytes are kept
        method=request.method, path=request.path, headers=request.headers,
        query=inputs.strip_nul_multidict(request.args),
        form=inputs.strip_nul_multidict(form) if form is not None else None,
        body=body, base_url=current_app.config["HUB_BASE_URL"],
        dedupe=lambda key: _claim(provider, key, delivery_id), user=user_snapshot(current_user()),
    )
    return dispatch(provider, endpoint, hub_request, delivery_id)


def _too_large(provider: str, endpoint: str, limit: int, size: int | None) -> Response:
    """A 413, logged as a rejected delivery (its body is not kept: it is what was refused)."""
    delivery = _delivery_row(provider, endpoint, b"")
    delivery.status_code, delivery.outcome = 413, "rejected"
    delivery.error = (f"body of {size} bytes over the limit of {limit}" if size is not None
                      else f"body over the limit of {limit} bytes")
    db.session.add(delivery)
    db.session.commit()
    return _json_error(413, f"Request body too large (limit {_size(limit)}).")


def _not_allowed(allow: tuple[str, ...]) -> Response:
    """A 405 naming the path's methods; an ``OPTIONS`` the path's routes do not declare is answered
    with them (204), not with every method the blueprint takes."""
    if request.method == "OPTIONS":
        return Response(status=204, headers={"Allow": ", ".join((*allow, "OPTIONS"))})
    return _json_error(405, "Method not allowed.", headers={"Allow": ", ".join(allow)})


def _size(limit: int) -> str:
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


def _delivery_row(provider: str, endpoint: str, body: bytes) -> m.WebhookDelivery:
    """The delivery as the log keeps it: secrets redacted, the exact request encrypted for replay."""
    return m.WebhookDelivery(**_delivery_values(provider, endpoint, body))


def _delivery_values(provider: str, endpoint: str, body: bytes) -> dict[str, Any]:
    query_string = request.query_string.decode("latin-1")
    headers = dict(request.headers.items())  # one pass over the environ (dict(headers) makes two)
    secret_names = [k for k in headers if is_secret_header(k)]
    secrets: dict[str, Any] = {"headers": {k: headers[k] for k in secret_names}, "endpoint": endpoint}
    shown_query, shown_body = public_query(query_string), public_body(body, request.mimetype)
    if shown_query != query_string:
        secrets["query_string"] = query_string
    if shown_body != body:  # the exact bytes, for replay (signatures cover them)
        secrets["body"] = base64.b64encode(body).decode()
    return dict(
        provider=provider, endpoint=public_endpoint(endpoint), method=request.method,
        query_string=shown_query, headers={**headers, **dict.fromkeys(secret_names, "[redacted]")},
        secret_headers=encrypt_json(secrets, reuse=True), body=shown_body, outcome="received",
    )


def _v2_request(provider: str, body: bytes, params: dict[str, str]) -> tuple[WebhookRequest, dict[str, bool]]:
    """The request plugins see, and the door's own note of whether its dedupe key was claimed."""
    form = request.form if request.mimetype == "application/x-www-form-urlencoded" else None
    claimed: dict[str, bool] = {}

    def dedupe(key: str) -> bool:  # a synchronous route's own claim, committed at once
        duplicate = not inbound.claim(provider, key, None)
        db.session.commit()
        claimed["key"] = not duplicate
        return duplicate

    hub_request = WebhookRequest(  # what plugins read is NUL-free (json() too); the signed bytes are kept
        method=request.method, path=request.path, headers=request.headers,
        query=inputs.strip_nul_multidict(request.args),
        form=inputs.strip_nul_multidict(form) if form is not None else None,
        body=body, base_url=current_app.config["HUB_BASE_URL"],
        dedupe=dedupe, user=user_snapshot(current_user()), params=params,
    )
    return hub_request, claimed


def _v2(provider: str, endpoint: str, route: Any, params: dict[str, str], body: bytes) -> Response:
    """Verify → handle → (Inbound) claim + record + ack, or (WebhookResponse) record the answer.

    The verifier's lookups and the record run on a connection of the request's own (no ORM session
    begun or committed for a delivery whose handler needs none: most of a Jira webhook's ack)."""
    hub_request, claimed = _v2_request(provider, body, params)
    error: str | None = None
    result: Any = None
    verified: Any = None
    rows: list[dict[str, Any]] = []
    with driver.own_connection(autocommit=True) as connection:
        try:
            with driver.on(connection):
                verified = route.verify(hub_request)
            result = route.handle(hub_request, verified)
            if not isinstance(result, Inbound | WebhookResponse):
                raise TypeError(f"route {route.path!r} returned {type(result).__name__}")
            rows = inbound.rows_of(result) if isinstance(result, Inbound) else []
        except Exception as e:
            db.session.rollback()
            result, error = error_response(e, endpoint)
        if isinstance(result, Inbound):
            response, duplicate = _record_inbound(provider, endpoint, body, result, rows, connection)
    if isinstance(result, Inbound):
        if not duplicate:
            _wake_or_apply()
        return response
    response = to_response(result)
    delivery = _delivery_row(provider, endpoint, body)
    record_answer(delivery, response, result, hub_request, error, identified(verified))
    db.session.add(delivery)
    if hub_request.claim_key and claimed.get("key"):
        if response.status_code >= 400 or result.retry:
            release(provider, hub_request.claim_key, None)
    db.session.commit()
    return response


_DELIVERIES = m.WebhookDelivery.__table__
#: The ack's delivery row, on the driver's cursor (compiled once per dialect, the headers given as JSON text).
_INSERT_DELIVERY = DriverStatement(
    lambda dialect: insert(_DELIVERIES).returning(_DELIVERIES.c.id),
    keys=("provider", "endpoint", "method", "query_string", "headers", "secret_headers", "body", "outcome",
          "status_code", "dedupe_key", "integration_id", "date_received"),
)


_MARK_DUPLICATE = DriverStatement(
    lambda dialect: update(_DELIVERIES).where(_DELIVERIES.c.id == bindparam("delivery_id"))
    .values(outcome="duplicate")
)


def _record_inbound(provider: str, endpoint: str, body: bytes, result: Inbound, rows: list[dict[str, Any]],
                    own: Connection) -> tuple[Response, bool]:
    """Claim, then record the delivery and its changes: one transaction, committed before the
    answer. On ``own`` (the request's connection) unless the handler began ORM work, which then
    commits with the record. Returns the answer, and whether the delivery was a duplicate."""
    key = at_most_128(result.dedupe_key or hashlib.sha256(body).hexdigest())
    response = to_response(result.response or WebhookResponse(json={"detail": "accepted"}))
    integration_id = int(result.integration.id)
    # The claim is the integration's: another site (or a tenant's own signed deliveries) cannot take it.
    claimed_as = claim_key(integration_id, key)
    values = {**_delivery_values(provider, endpoint, body), "status_code": response.status_code,
              "dedupe_key": key, "claim_key": claimed_as, "integration_id": integration_id,
              "date_received": utcnow()}
    values["headers"] = fastjson.dumps(values["headers"])

    def record(connection: Connection) -> tuple[int, bool]:  # on whichever thread leads the group
        if connection.dialect.name == "postgresql":  # one statement: atomic on an autocommit connection
            return inbound.record_at_once(values, rows, connection)
        row = _INSERT_DELIVERY.first(values, connection)
        assert row is not None
        delivery_id = int(row[0])
        duplicate = not inbound.claim_fast(provider, claimed_as, delivery_id, connection)
        if duplicate:
            _MARK_DUPLICATE.rows({"delivery_id": delivery_id}, connection)
        else:
            inbound.insert_rows(rows, delivery_id=delivery_id, connection=connection)
        return delivery_id, duplicate

    if db.session.registry.has() and db.session().in_transaction():  # the handler's ORM work commits with it
        with writelock.serialized():
            delivery_id, duplicate = record(db.session.connection())
            db.session.commit()
    else:
        delivery_id, duplicate = groupcommit.writes.write(record, own)
    if duplicate:
        already = WebhookResponse(json={"detail": "Already processed.", "delivery": delivery_id})
        return to_response(already), True
    return response, False


def _wake_or_apply() -> None:
    """After a recorded delivery: wake a worker, or (no workers: HUB_ASYNC=0) apply it now."""
    if current_app.config["HUB_ASYNC"]:
        inbound.wake()
    else:
        jobs.apply_inbound()



def _form_expired() -> Response:
    detail = "This form has expired or did not come from this hub's page: reload the page and try again."
    if request.accept_mimetypes.best == "application/json" or request.accept_mimetypes.find("text/html") < 0:
        return _json_error(400, detail, {"csrf_token": ["Missing or invalid."]})
    page = render_template("error.html", code=400, heading="Form expired", message=detail)
    return Response(page, status=400)

