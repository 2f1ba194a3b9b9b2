"""Inbound sync: the core's own implementations of the inbound hooks (FLOWS §5).

Registered as a default plugin, so a provider plugin reports a change with
``hook.sync_assignee_inbound(...)`` / ``hook.sync_status_inbound(...)`` and never touches the
database. Every function here uses a constant number of queries however many issues are
linked to the ticket.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from hub import issues, snapshots
from hub import models as m
from hub import types as t
from hub.extensions import db
from hub.hookspecs import hookimpl

logger = logging.getLogger("hub.sync")


def where_should_sync(integration_id: int, key: str) -> list[m.OrganizationIntegration]:
    """The org integrations of this integration that are installed, active and have ``key`` on."""
    rows = db.session.scalars(
        select(m.OrganizationIntegration)
        .join(m.Integration, m.Integration.id == m.OrganizationIntegration.integration_id)
        .where(
            m.OrganizationIntegration.integration_id == integration_id,
            m.OrganizationIntegration.status != "disabled",
            m.Integration.status == "active",
        )
    ).all()
    return [oi for oi in rows if (oi.config or {}).get(key)]


def _linked(
    integration_id: int, key: str, org_ids: list[int], external_id: str | None = None
) -> list[tuple[m.Group, m.ExternalIssue]]:
    """The issues linked to the ticket: by the provider's stable id when it is given (a moved
    ticket is found under its old key and takes the new one), else by key."""
    if not org_ids:
        return []
    ticket = m.ExternalIssue.key == key
    if external_id:
        ticket = or_(m.ExternalIssue.external_id == external_id,
                     and_(ticket, or_(m.ExternalIssue.external_id.is_(None),
                                      m.ExternalIssue.external_id == external_id)))
    pairs = list(
        db.session.execute(
            select(m.Group, m.ExternalIssue)
            .join(m.GroupLink, m.GroupLink.group_id == m.Group.id)
            .join(m.ExternalIssue, m.ExternalIssue.id == m.GroupLink.external_issue_id)
            .where(
                m.ExternalIssue.integration_id == integration_id,
                ticket,
                m.ExternalIssue.organization_id.in_(org_ids),
            )
            .order_by(m.Group.id)
        )
    )
    if external_id:
        for ext in {ext for _, ext in pairs}:
            _rekey(ext, external_id, key)
    return pairs


def _rekey(ext: m.ExternalIssue, external_id: str, key: str) -> bool:
    """Give a ticket row its stable id and current key; ``False`` when another row of the org has that key."""
    if ext.external_id is None:
        ext.external_id = external_id
    if ext.key == key:
        return True
    taken = db.session.scalar(select(m.ExternalIssue.id).where(
        m.ExternalIssue.organization_id == ext.organization_id,
        m.ExternalIssue.integration_id == ext.integration_id, m.ExternalIssue.key == key))
    if taken is not None:
        logger.warning("sync.moved-key-taken", extra={"external_issue": ext.id, "key": key})
        return False
    logger.info("sync.ticket-moved", extra={"external_issue": ext.id, "from": ext.key, "to": key})
    if ext.url and ext.url.endswith(ext.key):
        ext.url = ext.url[: -len(ext.key)] + key
    ext.key = key
    return True


def _timestamp(data: dict[str, Any] | None) -> float | None:
    """The provider's event time in epoch milliseconds, when the payload says."""
    if not data:
        return None
    value = data.get("timestamp")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


Pairs = list[tuple[m.Group, m.ExternalIssue]]


def _fresh(pairs: Pairs, data: dict[str, Any] | None) -> Pairs:
    """Drop what an older event would overwrite, as a compare-and-set on the tickets' newest time.

    One conditional ``UPDATE``: it also locks the tickets' rows until commit, so of two events
    applied at once the older never wins, whichever arrives first.
    """
    when = _timestamp(data)
    if when is None or not pairs:
        return pairs
    table = m.ExternalIssue.__table__
    last = table.c.last_inbound_at
    fresh_ids = set(db.session.execute(
        update(table).where(table.c.id.in_({ext.id for _, ext in pairs}), or_(last.is_(None), last <= when))
        .values(last_inbound_at=when).returning(table.c.id)
    ).scalars())
    fresh = []
    for group, ext in pairs:
        if ext.id not in fresh_ids:
            logger.info("sync.stale-event-dropped", extra={"external_issue": ext.key, "group_id": group.id})
            continue
        set_committed_value(ext, "last_inbound_at", when)
        fresh.append((group, ext))
    return fresh


def _ticket_id(data: dict[str, Any] | None) -> str | None:
    value = (data or {}).get("external_id")
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) and str(value) else None


def _integration_row(integration: t.Integration) -> m.Integration:
    row = db.session.get(m.Integration, int(integration.id))
    if row is None:
        raise LookupError(f"integration {integration.id} does not exist")
    return row


@hookimpl
def sync_assignee_inbound(
    integration: t.Integration, email: str | None, external_issue_key: str, assign: bool, data: dict[str, Any] | None
) -> list[t.Group]:
    row = _integration_row(integration)
    org_ids = [oi.organization_id for oi in where_should_sync(row.id, "sync_assignee_inbound")]
    pairs = _fresh(_linked(row.id, external_issue_key, org_ids, _ticket_id(data)), data)
    groups = [g for g, _ in pairs]
    changed: list[m.Group] = []
    if not groups:
        db.session.commit()
        return []
    if not assign:
        changed = issues.change_assignee(groups, None, integration=row, replaces=_unassignable(pairs, email))
        for _, ext in pairs:
            ext.synced_assignee_id = None
    elif email:
        user = db.session.scalar(select(m.User).where(func.lower(m.User.email) == email.strip().lower()))
        members = issues.project_member_ids([user.id], {g.project_id for g in groups}) if user else set()
        eligible = [g for g in groups if user and (user.id, g.project_id) in members]
        for group in groups:
            if group not in eligible:
                logger.warning(
                    "sync.assignee-not-found",
                    extra={"group_id": group.id, "external_issue": external_issue_key, "integration": row.id},
                )
        if user and eligible:
            changed = issues.change_assignee(eligible, user, integration=row)
            for group, ext in pairs:
                if group in eligible:
                    ext.synced_assignee_id = user.id
    result = [snapshots.group(g) for g in changed]  # before commit expires the rows: no query per issue
    db.session.commit()
    return result


def _unassignable(pairs: Pairs, email: str | None) -> dict[int, int | None]:
    """Whom an unassign may remove, per issue: the user it names, else the one last synced with the
    ticket; an issue assigned to someone else in the meantime keeps its assignee."""
    if email:
        wanted = email.strip().lower()
        user_id = db.session.scalar(select(m.User.id).where(func.lower(m.User.email) == wanted))
        return {g.id: user_id for g, _ in pairs} if user_id else {}
    return {g.id: ext.synced_assignee_id for g, ext in pairs if ext.synced_assignee_id}


def _category(value: Any) -> str | None:
    return str(value).lower() if value else None


def _decide(data: dict[str, Any], mapping: m.IntegrationExternalProject | None) -> str | None:
    changelog = data.get("changelog") or {}
    to_id = str(changelog.get("to") or "")
    if mapping is not None:
        if to_id == mapping.resolved_status:
            return "resolved"
        if to_id == mapping.unresolved_status:
            return "unresolved"
        return None
    to_category = _category(data.get("to_category"))
    if to_category is None:
        status = ((data.get("issue") or {}).get("fields") or {}).get("status") or {}
        if str(status.get("id", "")) == to_id:
            to_category = _category((status.get("statusCategory") or {}).get("key"))
    from_category = _category(data.get("from_category"))
    if to_category is None:
        return None
    if to_category == "done":
        return "resolved" if from_category != "done" else None
    if from_category in ("done", None):
        return "unresolved"
    return None


@hookimpl
def sync_status_inbound(integration: t.Integration, external_issue_key: str, data: dict[str, Any]) -> list[t.Group]:
    row = _integration_row(integration)
    org_integrations = {oi.organization_id: oi for oi in where_should_sync(row.id, "sync_status_reverse")}
    pairs = _fresh(_linked(row.id, external_issue_key, list(org_integrations), _ticket_id(data)), data)
    if not pairs:
        db.session.commit()
        return []
    project_id = str((((data.get("issue") or {}).get("fields") or {}).get("project") or {}).get("id") or "")
    mappings = {
        mp.organization_integration_id: mp
        for mp in db.session.scalars(
            select(m.IntegrationExternalProject).where(
                m.IntegrationExternalProject.organization_integration_id.in_([oi.id for oi in org_integrations.values()]),
                m.IntegrationExternalProject.external_id == project_id,
            )
        )
    }
    by_target: dict[str, list[m.Group]] = {}
    for group, ext in pairs:
        target = _decide(data, mappings.get(org_integrations[ext.organization_id].id))
        if target == "resolved" and group.status == "ignored":
            continue  # an ignored issue stays ignored
        if target:
            by_target.setdefault(target, []).append(group)
    changed: list[m.Group] = []
    for target, groups in by_target.items():
        changed += issues.change_status(groups, target, integration=row, sync_outbound=False)
    result = [snapshots.group(g) for g in changed]  # before commit expires the rows: no query per issue
    db.session.commit()
    return result


@hookimpl
def sync_ticket_moved_inbound(
    integration: t.Integration, external_id: str, old_key: str | None, new_key: str
) -> int:
    row = _integration_row(integration)
    known = m.ExternalIssue.external_id == str(external_id)
    if old_key:
        known = or_(known, and_(m.ExternalIssue.key == old_key, m.ExternalIssue.external_id.is_(None)))
    tickets = db.session.scalars(
        select(m.ExternalIssue).where(m.ExternalIssue.integration_id == row.id, known)).all()
    moved = sum(1 for ext in tickets if ext.key != new_key and _rekey(ext, str(external_id), new_key))
    for ext in tickets:
        ext.external_id = ext.external_id or str(external_id)
    db.session.commit()
    return moved
