"""An org's inbound deliveries and what each did, per change (owners and admins): the sync ledger's data."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from marshmallow import Schema, fields
from sqlalchemy import and_, exists, or_, select

from hub import dispatch, inbound, sync
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
    occurredAt = fields.Float(allow_none=True, metadata={
        "description": "the provider's event time, milliseconds since the epoch (dateOccurred: ISO)"})
    dateOccurred = fields.Str(allow_none=True)
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


def _the_orgs(org: m.Organization) -> Any:
    """A delivery of the org's: from an integration no other org has, or (an integration several
    orgs share: each sees what concerns it, not the others' tickets) one recording no change, or a
    change of a ticket the org links."""
    change = m.InboundChange
    ext = m.ExternalIssue
    linked = exists().where(
        ext.organization_id == org.id, ext.integration_id == change.integration_id,
        or_(ext.key == change.ticket_key, and_(change.ticket_id.is_not(None), change.ticket_id != "",
                                               ext.external_id == change.ticket_id)))
    any_change = exists().where(change.delivery_id == m.WebhookDelivery.id)
    its_change = exists().where(change.delivery_id == m.WebhookDelivery.id, linked)
    oi = m.OrganizationIntegration
    shared = exists().where(oi.integration_id == m.WebhookDelivery.integration_id,
                            oi.organization_id != org.id)
    return or_(~shared, ~any_change, its_change)


def _described(org: m.Organization, rows: list[m.WebhookDelivery]) -> list[dict[str, Any]]:
    """The deliveries as the org sees them: activity ids of other orgs' issues are left out."""
    changes = inbound.changes_by_delivery([d.id for d in rows])
    out = [inbound.describe(d, changes.get(d.id, []), org.id) for d in rows]
    shown = {int(a) for d in out for c in d["changes"] for a in c["activityIds"]}
    if shown:
        mine = {str(a) for a in db.session.scalars(
            select(m.Activity.id).join(m.Group, m.Group.id == m.Activity.group_id)
            .where(m.Activity.id.in_(shown), m.Group.organization_id == org.id))}
        for d in out:
            for c in d["changes"]:
                c["activityIds"] = [a for a in c["activityIds"] if a in mine]
    return out


def org_deliveries(org: m.Organization, *, ticket: str | None = None, integration_id: int | None = None,
                   limit: int = inbound.LIST_DEFAULT) -> list[dict[str, Any]]:
    """The deliveries of the org's integrations, newest first (by ticket key: those that named it)."""
    ids = _org_integration_ids(org)
    if integration_id is not None:
        ids = [i for i in ids if i == integration_id]
    query = select(m.WebhookDelivery).where(m.WebhookDelivery.integration_id.in_(ids), _the_orgs(org))
    if ticket:
        query = query.where(m.WebhookDelivery.id.in_(
            select(m.InboundChange.delivery_id).where(m.InboundChange.integration_id.in_(ids),
                                                      m.InboundChange.ticket_key == ticket)))
    rows = list(db.session.scalars(query.order_by(m.WebhookDelivery.id.desc()).limit(limit)))
    return _described(org, rows)


def _delivery(org: m.Organization, delivery_id: str) -> m.WebhookDelivery:
    row_id = parse_id(delivery_id)
    row = db.session.scalar(select(m.WebhookDelivery).where(
        m.WebhookDelivery.id == row_id, m.WebhookDelivery.integration_id.in_(_org_integration_ids(org)),
        _the_orgs(org))) if row_id is not None else None
    if row is None:
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
    org = get_org(org_slug, roles=ADMINS)
    return jsonify(_described(org, [_delivery(org, delivery_id)])[0])


@bp.post("/organizations/<org_slug>/deliveries/<delivery_id>/replay/")
@doc(
    "/api/0/organizations/{org}/deliveries/{id}/replay/",
    "post",
    "Replay a delivery as `hub replay` does, recorded as a new delivery (replayOf: this one); this "
    "delivery keeps what it did. One that recorded changes has copies of them applied (re-checked: the "
    "integration, the guards and the org's settings as they are now; not the signature), to this org's "
    "issues only (an integration several orgs share changes nothing of the others'); any other (a "
    "handler that failed, a synchronous answer) is re-run as it came, its signature checked again. "
    "Answers the new delivery; "
    "409 while this delivery's changes are still pending (the worker applies them once)",
    response=DeliveryOut,
)
@authenticated
def replay_delivery(org_slug: str, delivery_id: str) -> Any:
    org = get_org(org_slug, roles=ADMINS)
    row = _delivery(org, delivery_id)
    if inbound.changes_by_delivery([row.id])[row.id]:
        with sync.only_org(org.id):  # the org's own links: another org sharing the integration is not touched
            replayed, _ = inbound.replay(row.id)
    else:  # nothing recorded (a v2 handler that raised, a synchronous answer): run again, as `hub replay`
        copy_id, _ = dispatch.rerun(row)
        db.session.expire_all()
        replayed = db.session.get_one(m.WebhookDelivery, copy_id)
    from hub.jobs import flush

    flush()
    return jsonify(_described(org, [replayed])[0])
