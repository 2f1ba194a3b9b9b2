"""``hub reconcile``: find linked tickets whose status drifted from their issues, and repair.

Uses ``get_external_issue``; a plugin that returns ``status: {"id", "category"}`` and
``projectId`` takes part. The ticket wins: its status becomes a :class:`hub.types.StatusChange`
applied through the same path as a webhook's (:func:`hub.inbound.apply_now`), with the
integration as origin so nothing is echoed back, and recorded like one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from flask import current_app
from sqlalchemy import select

from hub import inbound, snapshots
from hub import models as m
from hub import types as t
from hub.errors import HubError
from hub.extensions import db
from hub.sync import decide


def reconcile(org_slug: str | None, *, dry_run: bool) -> Iterator[str]:
    query = (
        select(m.Group, m.ExternalIssue, m.OrganizationIntegration)
        .join(m.GroupLink, m.GroupLink.group_id == m.Group.id)
        .join(m.ExternalIssue, m.ExternalIssue.id == m.GroupLink.external_issue_id)
        .join(m.OrganizationIntegration,
              (m.OrganizationIntegration.integration_id == m.ExternalIssue.integration_id)
              & (m.OrganizationIntegration.organization_id == m.ExternalIssue.organization_id))
        .where(m.OrganizationIntegration.status != "disabled")
        .order_by(m.ExternalIssue.id)
    )
    if org_slug:
        query = query.join(m.Organization, m.Organization.id == m.Group.organization_id).where(
            m.Organization.slug == org_slug)
    hook = current_app.extensions["hub"].hook
    tickets: dict[int, dict[str, Any] | None] = {}
    checked = drifted = 0
    for group, ext, oi in db.session.execute(query).all():
        if not (oi.config or {}).get("sync_status_reverse") or oi.integration.status != "active":
            continue
        if ext.id not in tickets:
            try:
                tickets[ext.id] = hook.get_external_issue(
                    integration=snapshots.integration(oi.integration, oi), key=ext.key
                )
            except HubError as e:
                tickets[ext.id] = None
                yield f"{ext.key}: cannot read ({e})"
        ticket = tickets[ext.id]
        status = (ticket or {}).get("status") or {}
        if ticket is None or not status.get("id"):
            continue
        checked += 1
        mapping = db.session.scalar(select(m.IntegrationExternalProject).where(
            m.IntegrationExternalProject.organization_integration_id == oi.id,
            m.IntegrationExternalProject.external_id == str(ticket.get("projectId") or "")))
        change = t.StatusChange(
            ticket=t.Ticket(
                key=ext.key, id=ext.external_id or "", project_id=str(ticket.get("projectId") or "")
            ),
            occurred_at=time.time() * 1000,
            status_id=str(status["id"]),
            status_name=str(status.get("name") or ""),
            category=str(status["category"]) if status.get("category") else None,
        )
        target, _ = decide(change, mapping)
        if target is None or target == group.status or (target == "resolved" and group.status == "ignored"):
            continue
        drifted += 1
        name = status.get("name") or status["id"]
        yield f"{group.short_id} ({group.status}) <- {ext.key} ({name}): {target}"
        if not dry_run:
            inbound.apply_now(oi.integration, [change])
    yield f"checked {checked} linked ticket(s), {drifted} drifted{' (dry run)' if dry_run else ''}"
