"""An org's inbound deliveries and what each did, per change (owners and admins): the sync ledger's data."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from marshmallow import Schema, fields
from sqlalchemy import select

from hub import dispatch, inbound
from hub import models as m
from hub.api.core import ApiAbort, authenticated, bp, get_org
from hub.api.docs import doc
from hub.extensions import db
from hub.models.base import parse_id

ADMINS = ("owner", "admin")


class ChangeOut(Schema):
    id = fields.Int()
    kind = fields.Str(metadata={"description": "status, assignee, moved or comment"})
    ticket = fields.Dict()
    data = fields.Dict()
    occurredAt = fields.Float(allow_none=True)
    state = fields.Str(metadata={"description": "pending, applied, stale, echo, skipped or failed"})
    reason = fields.Str(allow_none=True)
    error = fields.Str(allow_none=True)
    activityIds = fields.List(fields.Str())
    attempts = fields.Int()
    dateApplied = fields.Str(allow_none=True)


class DeliveryOut(Schema):
    id = fields.Int()
    provider = fields.Str()
    integrationId = fields.Str(allow_none=True)
    method = fields.Str()
    endpoint = fields.Str()
    statusCode = fields.Int(allow_none=True)
    state = fields.Str(metadata={"description": "received, applied, duplicate, stale, echo, skipped, failed "
                                                "(a change failed, or the handler raised: outcome error); "
                                                "v1 deliveries: processed, rejected, unhandled"})
    outcome = fields.Str()
    error = fields.Str(allow_none=True)
    dedupeKey = fields.Str(allow_none=True)
    replayOf = fields.Int(allow_none=True)
    dateReceived = fields.Str()
    changes = fields.List(fields.Nested(ChangeOut))


def _org_integration_ids(org: m.Organization) -> list[int]:
    return list(db.session.scalars(select(m.OrganizationIntegration.integration_id)
                                   .where(m.OrganizationIntegration.organization_id == org.id)))


def org_deliveries(org: m.Organization, *, ticket: str | None = None, integration_id: int | None = None,
                   limit: int = inbound.LIST_DEFAULT) -> list[dict[str, Any]]:
    """The deliveries of the org's integrations, newest first (by ticket key: those that named it)."""
    ids = _org_integration_ids(org)
    if integration_id is not None:
        ids = [i for i in ids if i == integration_id]
    query = select(m.WebhookDelivery).where(m.WebhookDelivery.integration_id.in_(ids))
    if ticket:
        query = query.where(m.WebhookDelivery.id.in_(
            select(m.InboundChange.delivery_id).where(m.InboundChange.integration_id.in_(ids),
                                                      m.InboundChange.ticket_key == ticket)))
    rows = list(db.session.scalars(query.order_by(m.WebhookDelivery.id.desc()).limit(limit)))
    changes = inbound.changes_by_delivery([d.id for d in rows])
    return [inbound.describe(d, changes.get(d.id, [])) for d in rows]


def _delivery(org: m.Organization, delivery_id: str) -> m.WebhookDelivery:
    row_id = parse_id(delivery_id)
    row = db.session.get(m.WebhookDelivery, row_id) if row_id is not None else None
    if row is None or row.integration_id not in _org_integration_ids(org):
        raise ApiAbort(404, "The requested resource does not exist.")
    return row


@bp.get("/organizations/<org_slug>/deliveries/")
@doc("/api/0/organizations/{org}/deliveries/", "get",
     "Inbound deliveries of the org's integrations and each change's outcome (?ticket=KEY, ?integration=ID)",
     response=DeliveryOut, many=True)
@authenticated
def list_deliveries(org_slug: str) -> Any:
    org = get_org(org_slug, roles=ADMINS)
    integration = request.args.get("integration")
    try:
        limit = int(request.args.get("limit", inbound.LIST_DEFAULT))
    except (TypeError, ValueError):
        limit = 0
    if not inbound.LIST_MIN <= limit <= inbound.LIST_MAX:  # out of range is refused like a word, not clamped
        raise ApiAbort(400, "Invalid query parameter.",
                       {"limit": [f"Must be a number from {inbound.LIST_MIN} to {inbound.LIST_MAX}."]})
    integration_id = parse_id(integration) if integration else None
    if integration and integration_id is None:
        raise ApiAbort(400, "Invalid query parameter.", {"integration": ["Must be an integration id."]})
    return jsonify(org_deliveries(org, ticket=request.args.get("ticket") or None,
                                  integration_id=integration_id, limit=limit))


@bp.get("/organizations/<org_slug>/deliveries/<delivery_id>/")
@doc(
    "/api/0/organizations/{org}/deliveries/{id}/", "get", "One delivery and its changes", response=DeliveryOut
)
@authenticated
def get_delivery(org_slug: str, delivery_id: str) -> Any:
    row = _delivery(get_org(org_slug, roles=ADMINS), delivery_id)
    return jsonify(inbound.describe(row, inbound.changes_by_delivery([row.id])[row.id]))


@bp.post("/organizations/<org_slug>/deliveries/<delivery_id>/replay/")
@doc(
    "/api/0/organizations/{org}/deliveries/{id}/replay/",
    "post",
    "Replay a delivery as `hub replay` does, recorded as a new delivery (replayOf: this one); this "
    "delivery keeps what it did. One that recorded changes has copies of them applied (re-checked: the "
    "integration, the guards and the org's settings as they are now; not the signature); any other (a "
    "handler that failed, a synchronous answer) is re-run as it came, its signature checked again. "
    "Answers the new delivery; "
    "409 while this delivery's changes are still pending (the worker applies them once)",
    response=DeliveryOut,
)
@authenticated
def replay_delivery(org_slug: str, delivery_id: str) -> Any:
    row = _delivery(get_org(org_slug, roles=ADMINS), delivery_id)
    if inbound.changes_by_delivery([row.id])[row.id]:
        replayed, changes = inbound.replay(row.id)
    else:  # nothing recorded (a v2 handler that raised, a synchronous answer): run again, as `hub replay`
        copy_id, _ = dispatch.rerun(row)
        db.session.expire_all()
        replayed = db.session.get_one(m.WebhookDelivery, copy_id)
        changes = inbound.changes_by_delivery([copy_id])[copy_id]
    from hub.jobs import flush

    flush()
    return jsonify(inbound.describe(replayed, changes))
