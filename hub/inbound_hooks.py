"""The core's own implementations of the v1 inbound hooks (a default plugin).

A v1 plugin reports a change with ``hook.sync_status_inbound(...)`` and friends; each call becomes
a typed change (``hub.types``), recorded and applied at once through :func:`hub.inbound.apply_now`:
the same path, guards and delivery log as a v2 route's changes. ``data`` is the v1 hookspec's
shape (Jira's, as documented there); it is read here and nowhere else in the core.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hub import inbound, snapshots
from hub import models as m
from hub import types as t
from hub.extensions import db
from hub.hookspecs import hookimpl


def _integration_row(integration: t.Integration) -> m.Integration:
    row = db.session.get(m.Integration, int(integration.id))
    if row is None:
        raise LookupError(f"integration {integration.id} does not exist")
    return row


def _v1_ticket(key: str, data: dict[str, Any] | None, project_id: str = "") -> tuple[t.Ticket, float | None]:
    data = data or {}
    ticket_id = data.get("external_id")
    ticket_id = str(ticket_id) if isinstance(ticket_id, str | int) and not isinstance(ticket_id, bool) else ""
    try:
        when = float(data["timestamp"]) if data.get("timestamp") is not None else None
    except (TypeError, ValueError):
        when = None
    return t.Ticket(key=key, id=ticket_id, project_id=project_id), when


def _changed_groups(rows: list[m.InboundChange]) -> list[t.Group]:
    ids = {a for r in rows for a in (r.activity_ids or [])}
    if not ids:
        return []
    groups = db.session.scalars(
        select(m.Group).where(m.Group.id.in_(select(m.Activity.group_id).where(m.Activity.id.in_(ids))))
        .options(selectinload(m.Group.project).selectinload(m.Project.organization),
                 selectinload(m.Group.assignee).selectinload(m.GroupAssignee.user))
        .order_by(m.Group.id)).all()
    return [snapshots.group(g) for g in groups]


@hookimpl
def sync_assignee_inbound(
    integration: t.Integration,
    email: str | None,
    external_issue_key: str,
    assign: bool,
    data: dict[str, Any] | None,
) -> list[t.Group]:
    ticket, when = _v1_ticket(external_issue_key, data)
    change = t.AssigneeChange(ticket=ticket, occurred_at=when, assign=assign,
                              email=email if assign else None, replaces_email=None if assign else email)
    return _changed_groups(inbound.apply_now(_integration_row(integration), [change]))


@hookimpl
def sync_status_inbound(
    integration: t.Integration, external_issue_key: str, data: dict[str, Any]
) -> list[t.Group]:
    """v1: ``data`` as documented in the hookspec (Jira's shapes, read only here, for v1 callers)."""
    data = data or {}
    issue = data.get("issue") or {}
    fields = issue.get("fields") if isinstance(issue, dict) else {}
    fields = fields if isinstance(fields, dict) else {}
    project_id = str((fields.get("project") or {}).get("id") or "")
    changelog = data.get("changelog") or {}
    to_id = str(changelog.get("to") or "")
    category = data.get("to_category")
    if category is None:
        status = fields.get("status") or {}
        if str(status.get("id", "")) == to_id:
            category = (status.get("statusCategory") or {}).get("key")
    ticket, when = _v1_ticket(external_issue_key, data, project_id)
    change = t.StatusChange(
        ticket=ticket, occurred_at=when, status_id=to_id, status_name=str(changelog.get("toString") or ""),
        category=str(category) if category else None, from_status_id=str(changelog.get("from") or "") or None,
        from_category=str(data["from_category"]) if data.get("from_category") else None)
    return _changed_groups(inbound.apply_now(_integration_row(integration), [change]))


@hookimpl
def sync_ticket_moved_inbound(
    integration: t.Integration, external_id: str, old_key: str | None, new_key: str
) -> int:
    change = t.TicketMoved(ticket=t.Ticket(key=new_key, id=str(external_id)), old_key=old_key,
                           occurred_at=time.time() * 1000)
    rows = inbound.apply_now(_integration_row(integration), [change])
    return sum(1 for r in rows if r.state == "applied")
