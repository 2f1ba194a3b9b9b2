"""A plugin's webhook code run and its answer recorded in the delivery log: v1's ``on_webhook``
(:func:`dispatch`), a handler's exception in the hub's words (:func:`error_response`), and a stored
delivery replayed (:func:`replay`, :func:`rerun`). Below the doors, so ``/extensions/`` (hub.webhooks),
the REST API's replay and ``hub replay`` share one path.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from typing import Any
from urllib.parse import parse_qsl

from flask import Response, current_app
from sqlalchemy import delete

from hub import inbound, inputs, jobs, logs
from hub import models as m
from hub.crypto import decrypt_json
from hub.errors import HubError, NotFound, PluginError, Unverified, ValidationError
from hub.extensions import db
from hub.routes import NoMatch
from hub.types import Inbound, Integration, WebhookRequest, WebhookResponse

logger = logging.getLogger("hub.webhooks")

def public_endpoint(endpoint: str) -> str:
    """The endpoint as the delivery log shows it: long path segments (a per-integration secret
    token, a signed link) are redacted; the real one is kept encrypted for ``hub replay``."""
    return "/".join("[redacted]" if len(part) >= 32 else part for part in endpoint.split("/"))


def release(provider: str, key: str, delivery_id: int | None) -> None:
    """Give a failed delivery's key back, so a redelivery is handled again."""
    owner = (m.WebhookClaim.delivery_id.is_(None) if delivery_id is None
             else m.WebhookClaim.delivery_id == delivery_id)
    db.session.execute(delete(m.WebhookClaim).where(
        m.WebhookClaim.provider == provider, m.WebhookClaim.dedupe_key == key, owner))


def record_answer(delivery: m.WebhookDelivery, response: Response, result: WebhookResponse,
                   hub_request: WebhookRequest, error: str | None, integration_id: int | None = None) -> None:
    """What a synchronous answer (v1, a v2 ``WebhookResponse`` or a handler's error) tells the delivery
    log; ``integration_id``: the one the verifier identified (else the one bound while handling)."""
    delivery.status_code = response.status_code
    delivery.dedupe_key = hub_request.dedupe_key
    delivery.integration_id = integration_id if integration_id is not None else _bound_integration()
    delivery.error = inputs.strip_nul(error)
    delivery.outcome = result.outcome or outcome_of(response.status_code, hub_request.duplicate)


def identified(verified: Any) -> int | None:
    """The integration a v2 verifier identified: the one it returned, else the one its lookup bound
    (``services.get_integration``), so its org's admins see the delivery however it ended."""
    if isinstance(verified, Integration):
        try:
            return int(verified.id)
        except (TypeError, ValueError):
            pass
    return _bound_integration()


def _bound_integration() -> int | None:
    bound = logs.context().get("integration")
    return bound if isinstance(bound, int) else None


def outcome_of(status: int, duplicate: bool) -> str:
    if duplicate:
        return "duplicate"
    if status >= 500:
        return "error"
    if status == 404:
        return "unhandled"
    if status >= 400:
        return "rejected"
    return "processed"


def error_response(e: Exception, endpoint: str) -> tuple[WebhookResponse, str]:
    """A handler's or verifier's exception as the answer (the hub's words, never a stack trace)."""
    if isinstance(e, Unverified):
        logger.info("webhook.unverified", extra={"reason": e.detail})
    if isinstance(e, ValidationError | PluginError):
        detail = e.detail if isinstance(e, ValidationError) else e.message
        return WebhookResponse(status=getattr(e, "status_code", 400),
                               json={"detail": detail, "errors": e.errors}), detail
    if isinstance(e, NotFound):
        return WebhookResponse(status=404, json={"detail": str(e) or "Not found.", "errors": {}}), str(e)
    if isinstance(e, HubError):
        return WebhookResponse(status=400, json={"detail": str(e), "errors": {}}), str(e)
    error_id = uuid.uuid4().hex[:12]
    logger.exception("webhook.plugin-error",  # the endpoint as the delivery log shows it: no URL token
                     extra={"error_id": error_id, "endpoint": public_endpoint(endpoint)})
    return (WebhookResponse(status=500, json={"detail": f"Internal error ({error_id}).", "errors": {}}),
            f"{type(e).__name__}: {e}"[:2000])


def dispatch(provider: str, endpoint: str, hub_request: WebhookRequest, delivery_id: int) -> Response:
    """Run ``on_webhook`` and record what happened on the delivery row."""
    hub = current_app.extensions["hub"]
    logs.bind(delivery=delivery_id)
    error: str | None = None
    try:
        result = hub.hook.on_webhook(provider=provider, endpoint=endpoint, request=hub_request)
        if result is None:
            result = WebhookResponse(status=404, json={"detail": "Not found.", "errors": {}})
    except Exception as e:
        db.session.rollback()
        result, error = error_response(e, endpoint)
    response = to_response(result)
    delivery = db.session.get(m.WebhookDelivery, delivery_id)
    if delivery is not None:
        record_answer(delivery, response, result, hub_request, error)
        if hub_request.claim_key and (response.status_code >= 400 or result.retry):
            release(provider, hub_request.claim_key, delivery_id)
        db.session.commit()
    return response


def to_response(result: WebhookResponse) -> Response:
    headers = dict(result.headers or {})
    if result.json is not None:
        return Response(
            json.dumps(result.json), status=result.status, headers=headers, mimetype="application/json"
        )
    body = result.body.encode() if isinstance(result.body, str) else result.body
    return Response(body, status=result.status, headers=headers)


def replay(delivery_id: int) -> Response:
    """``hub replay``: recorded as a new delivery (``replay_of`` the original), which keeps what it did.
    A delivery's recorded changes (a v2 route's, or a v1 inbound hook's) are copied to it and applied
    (:func:`hub.inbound.replay`), as the API's replay does; any other delivery is re-run exactly as it
    came (:func:`rerun`)."""
    original = db.session.get(m.WebhookDelivery, delivery_id)
    if original is None:
        raise NotFound(f"delivery {delivery_id} not found")
    recorded = inbound.changes_by_delivery([original.id])[original.id]
    if recorded:  # as the API's replay: recorded changes (a v1 hook's too) are re-applied, not re-derived
        copy, rows = inbound.replay(original.id)
        return to_response(WebhookResponse(json={"detail": "replayed", "delivery": copy.id,
                                                 "replayOf": original.id,
                                                 "changes": [inbound.describe_change(r) for r in rows]}))
    return rerun(original)[1]


def rerun(original: m.WebhookDelivery) -> tuple[int, Response]:
    """Re-run a stored delivery as it came, recorded as a new delivery (returned with its answer):
    a v2 route's ``verify`` and ``handle`` (a handler that raised runs again; the changes it returns
    now are recorded on the copy and applied), or v1's ``on_webhook``. The signature is checked
    again, a freshness window is not (``WebhookRequest.replayed``)."""
    from werkzeug.datastructures import Headers, MultiDict

    table = current_app.extensions["hub"].routes(original.provider)
    secrets = decrypt_json(original.secret_headers, default={})
    endpoint = secrets.get("endpoint", original.endpoint)
    headers = Headers(list({**original.headers, **secrets.get("headers", {})}.items()))
    query_string = secrets.get("query_string", original.query_string)
    body = base64.b64decode(secrets["body"]) if secrets.get("body") else original.body
    form = None
    if (headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        form = inputs.strip_nul_multidict(MultiDict(pairs))
    hub_request = WebhookRequest(
        method=original.method, path=f"/extensions/{original.provider}/{endpoint}", headers=headers,
        query=inputs.strip_nul_multidict(MultiDict(parse_qsl(query_string, keep_blank_values=True))),
        form=form, body=body,
        base_url=current_app.config["HUB_BASE_URL"], replayed=True,
    )
    copy = inbound.copy_delivery(original)
    db.session.add(copy)
    db.session.commit()
    copy_id = copy.id
    if table is not None:
        return copy_id, _replay_v2(table, endpoint, hub_request, copy)
    return copy_id, dispatch(original.provider, endpoint, hub_request, copy_id)


def _replay_v2(table: Any, endpoint: str, hub_request: WebhookRequest, copy: m.WebhookDelivery) -> Response:
    found = table.match(endpoint, hub_request.method)
    if isinstance(found, NoMatch):
        raise NotFound(f"no route answers {hub_request.method} {endpoint} any more")
    hub_request.params = found.params
    error = None
    verified: Any = None
    try:
        verified = found.route.verify(hub_request)
        result = found.route.handle(hub_request, verified)
    except Exception as e:
        db.session.rollback()
        result, error = error_response(e, endpoint)
    if isinstance(result, Inbound):
        changes = inbound.add_changes(result.changes, integration_id=int(result.integration.id),
                                      delivery_id=copy.id)
        copy.integration_id, copy.status_code = int(result.integration.id), 200
        db.session.commit()
        for change_id in [c.id for c in changes]:
            inbound.apply_one(change_id)
        jobs.flush()
        return to_response(WebhookResponse(json={"detail": "replayed", "delivery": copy.id}))
    response = to_response(result)
    copy = db.session.merge(copy)
    copy.integration_id = identified(verified)
    copy.status_code, copy.error = response.status_code, inputs.strip_nul(error)
    copy.outcome = result.outcome or outcome_of(response.status_code, False)
    db.session.commit()
    return response
