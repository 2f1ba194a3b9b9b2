"""The one way an issue's status or assignee changes.

The API, the web pages, chat buttons and inbound sync all come through here, so every change
writes its activity (actor, and origin integration when a provider caused it) and, in the same
transaction, the outbox rows for outbound status/assignee sync and for ``notify_activity``.
Nothing here enqueues or calls a plugin: the relay in :mod:`hub.jobs` picks up committed rows.

Functions take lists of issues so inbound sync touches any number of linked issues with a
constant number of queries; the caller commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select

from hub import echoes, upserts
from hub import models as m
from hub.errors import ValidationError
from hub.extensions import db
from hub.models.base import new_uuid, utcnow

STATUS_ACTIVITY = {"resolved": "set_resolved", "unresolved": "set_unresolved", "ignored": "set_ignored"}


# -- outbox -------------------------------------------------------------------------------------


def add_outbox(
    kind: str,
    payload: dict[str, Any],
    *,
    organization_id: int | None = None,
    integration_id: int | None = None,
) -> m.OutboxEntry:
    """Record outbound work in the current transaction; the relay sends it once committed."""
    entry = m.OutboxEntry(
        id=new_uuid(),
        kind=kind,
        payload=payload,
        organization_id=organization_id,
        integration_id=integration_id,
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
    )
    db.session.add(entry)
    db.session.info.setdefault("hub_outbox_new", []).append(entry.id)
    return entry


# -- who did it ---------------------------------------------------------------------------------


def origin_data(integration: m.Integration | None) -> dict[str, Any]:
    """What an activity records about the integration that caused a change (echo guard)."""
    if integration is None:
        return {}
    return {
        "integration_id": str(integration.id),
        "integration": integration.provider,
        "provider": integration.provider,
    }


def _linked_tickets(
    groups: Sequence[m.Group],
) -> dict[int, list[tuple[m.ExternalIssue, m.OrganizationIntegration]]]:
    """Each issue's linked tickets with the org integration that owns them (one query)."""
    if not groups:
        return {}
    rows = db.session.execute(
        select(m.GroupLink.group_id, m.ExternalIssue, m.OrganizationIntegration)
        .join(m.ExternalIssue, m.ExternalIssue.id == m.GroupLink.external_issue_id)
        .join(
            m.OrganizationIntegration,
            (m.OrganizationIntegration.integration_id == m.ExternalIssue.integration_id)
            & (m.OrganizationIntegration.organization_id == m.ExternalIssue.organization_id),
        )
        .join(m.Integration, m.Integration.id == m.ExternalIssue.integration_id)
        .where(m.GroupLink.group_id.in_([g.id for g in groups]))
        .where(m.OrganizationIntegration.status != "disabled")
        .where(m.Integration.status == "active")
    ).all()
    out: dict[int, list[tuple[m.ExternalIssue, m.OrganizationIntegration]]] = defaultdict(list)
    for group_id, ext, org_integration in rows:
        out[group_id].append((ext, org_integration))
    return out


def _parents_by_group(group_ids: Iterable[int]) -> dict[int, set[int]]:
    """Integration ids that hold alert messages (thread parents) per issue (one query)."""
    ids = list(group_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(m.NotificationMessage.group_id, m.NotificationMessage.integration_id)
        .join(m.Integration, m.Integration.id == m.NotificationMessage.integration_id)
        .where(m.NotificationMessage.group_id.in_(ids), m.Integration.status == "active")
        .distinct()
    ).all()
    out: dict[int, set[int]] = defaultdict(set)
    for group_id, integration_id in rows:
        out[group_id].add(integration_id)
    return out


#: Core, built once: inbound sync writes activities for every change it applies (one multi-row INSERT).
_INSERT_ACTIVITIES = insert(m.Activity.__table__).returning(m.Activity.__table__.c.id)


def record_activities(
    items: Sequence[tuple[m.Group, str, dict[str, Any]]],
    *,
    actor: m.User | None,
    returning: bool = False,
) -> list[m.Activity]:
    """Write activities; a user's activity also gets one ``notify_activity`` row per chat integration.

    System activities (no actor) that nobody needs back are written with one multi-row INSERT,
    so inbound sync costs the same number of statements for one issue or a thousand.
    """
    if actor is None and not returning:
        if items:
            ids = db.session.connection().execute(
                _INSERT_ACTIVITIES,
                [{"group_id": g.id, "project_id": g.project_id, "type": t, "user_id": None, "data": d,
                  "date_created": utcnow()} for g, t, d in items],
            ).scalars().all()
            _note_new_activities(ids)
        return []
    activities = [
        m.Activity(
            group=group, group_id=group.id, project_id=group.project_id, type=type_, user=actor, data=data
        )
        for group, type_, data in items
    ]
    db.session.add_all(activities)
    if not activities:
        return activities
    db.session.flush()
    _note_new_activities([a.id for a in activities])
    if actor is None:
        return activities
    parents = _parents_by_group({a.group_id for a in activities})
    for activity in activities:
        for integration_id in sorted(parents.get(activity.group_id, ())):
            add_outbox(
                "notify_activity",
                {"activity_id": activity.id, "integration_id": integration_id},
                organization_id=activity.group.organization_id,
                integration_id=integration_id,
            )
    return activities


def _note_new_activities(ids: Sequence[int]) -> None:
    """Tell an inbound change which activities it produced (``hub.sync.apply`` collects them)."""
    collected = db.session.info.get("hub_new_activity_ids")
    if collected is not None:
        collected.extend(ids)


def record_activity(
    group: m.Group, type_: str, *, actor: m.User | None, data: dict[str, Any] | None = None
) -> m.Activity:
    return record_activities([(group, type_, data or {})], actor=actor, returning=True)[0]


def lock_groups(groups: Sequence[m.Group]) -> None:
    """Lock the issues' rows and re-read their status and assignee (one path, no check-then-write).

    Every status or assignee change checks the current state *after* this, so 32 identical
    requests at once make one change: the others wait, then see it already made.
    """
    ids = [g.id for g in groups]
    upserts.lock(m.Group, ids)
    db.session.scalars(
        select(m.Group).where(m.Group.id.in_(ids)).execution_options(populate_existing=True)
    ).all()


# -- status -------------------------------------------------------------------------------------


def change_status(
    groups: Sequence[m.Group],
    status: str,
    *,
    actor: m.User | None = None,
    integration: m.Integration | None = None,
    status_details: dict[str, Any] | None = None,
    activity_type: str | None = None,
    sync_outbound: bool = True,
    extra_data: dict[str, Any] | None = None,
    locked: bool = False,
) -> list[m.Group]:
    """Set the status of issues; returns those that changed.

    :param locked: the caller read the issues locked in this transaction (inbound sync does).

    :param integration: the provider that caused the change, if any: it gets no outbound sync.
    :param sync_outbound: ``False`` for changes reported by a provider (inbound sync), which
        never trigger outbound status sync (FLOWS §9).
    """
    if status not in m.STATUSES:
        raise ValidationError("Unknown status.", {"status": [f"Must be one of: {', '.join(m.STATUSES)}."]})
    if not locked:
        lock_groups(groups)
    changed = [g for g in groups if g.status != status]
    for group in groups:
        if group.status == status and status_details is not None:
            group.status_details = status_details
    if not changed:
        return []
    now = utcnow()
    items = []
    for group in changed:
        group.status = status
        group.status_details = status_details or {}
        group.resolved_at = now if status == "resolved" else None
        data = {**origin_data(integration), **(extra_data or {}), **_details_data(status_details)}
        items.append((group, activity_type or STATUS_ACTIVITY[status], data))
    record_activities(items, actor=actor)
    if sync_outbound and status in ("resolved", "unresolved"):
        origin_id = integration.id if integration else None
        links = _linked_tickets(changed)
        for group in changed:
            for ext, org_integration in links.get(group.id, ()):
                _status_outbox(group, ext, org_integration, status, origin_id)
    return changed


def _details_data(status_details: dict[str, Any] | None) -> dict[str, Any]:
    if not status_details:
        return {}
    if status_details.get("inNextRelease"):
        return {"inNextRelease": True}
    if status_details.get("inRelease"):
        return {"version": status_details["inRelease"]}
    return {}


def _status_outbox(
    group: m.Group,
    ext: m.ExternalIssue,
    org_integration: m.OrganizationIntegration,
    status: str,
    origin_id: int | None,
) -> None:
    if ext.integration_id == origin_id or not (org_integration.config or {}).get("sync_status_forward"):
        return
    echoes.expect(ext, "status", status)
    add_outbox(
        "sync_status_outbound",
        {
            "external_issue_id": ext.id,
            "group_id": group.id,
            "is_resolved": status == "resolved",
            "project_id": group.project_id,
        },
        organization_id=group.organization_id,
        integration_id=ext.integration_id,
    )


# -- assignee -----------------------------------------------------------------------------------


def project_member_ids(user_ids: Iterable[int], project_ids: Iterable[int]) -> set[tuple[int, int]]:
    """(user id, project id) pairs where the user is a member of the project (one query)."""
    users, projects = list(set(user_ids)), list(set(project_ids))
    if not users or not projects:
        return set()
    rows = db.session.execute(
        select(m.OrganizationMember.user_id, m.member_projects.c.project_id)
        .join(m.member_projects, m.member_projects.c.member_id == m.OrganizationMember.id)
        .where(m.OrganizationMember.user_id.in_(users), m.member_projects.c.project_id.in_(projects))
    ).all()
    return {(u, p) for u, p in rows}


def change_assignee(
    groups: Sequence[m.Group],
    user: m.User | None,
    *,
    actor: m.User | None = None,
    integration: m.Integration | None = None,
    sync_outbound: bool = True,
    replaces: Mapping[int, int | None] | None = None,
    locked: bool = False,
) -> list[m.Group]:
    """Assign issues to ``user`` (``None`` unassigns); returns those that changed.

    Only members of an issue's project can be assigned: anyone else is a ``ValidationError``
    and nothing changes.

    :param replaces: ``{group id: user id}``: change only issues whose current assignee is that
        user (``None``: nobody), checked under the lock — an inbound unassign of X never removes Y.
        Issues missing from it are left alone.
    """
    if user is not None:
        members = project_member_ids([user.id], {g.project_id for g in groups})
        outsiders = [g for g in groups if (user.id, g.project_id) not in members]
        if outsiders:
            raise ValidationError(
                "The user is not a member of the issue's project.",
                {"assignedTo": ["Only members of the issue's project can be assigned."]},
            )
    if not locked:
        lock_groups(groups)

    def current(group: m.Group) -> int | None:
        return group.assignee.user_id if group.assignee else None

    changed = [g for g in groups if current(g) != (user.id if user else None)]
    if replaces is not None:
        changed = [g for g in changed if g.id in replaces and replaces[g.id] == current(g)]
    if not changed:
        return []
    items = []
    for group in changed:
        if user is None:
            db.session.delete(group.assignee)
            group.assignee = None
            items.append((group, "unassigned", origin_data(integration)))
        else:
            if group.assignee is None:
                group.assignee = m.GroupAssignee(group_id=group.id, user_id=user.id, user=user)
            else:
                group.assignee.user_id = user.id
                group.assignee.user = user
                group.assignee.date_added = utcnow()
            data = {"assignee": str(user.id), "assigneeEmail": user.email, "assigneeType": "user"}
            items.append((group, "assigned", {**data, **origin_data(integration)}))
    record_activities(items, actor=actor)
    if sync_outbound:
        origin_id = integration.id if integration else None
        links = _linked_tickets(changed)
        for group in changed:
            for ext, org_integration in links.get(group.id, ()):
                if ext.integration_id == origin_id or not (org_integration.config or {}).get(
                    "sync_assignee_outbound"
                ):
                    continue
                noted = user.email if user else ""
                echoes.expect(ext, "assignee", noted)
                add_outbox(
                    "sync_assignee_outbound",
                    {"external_issue_id": ext.id, "group_id": group.id, "user_id": user.id if user else None,
                     "assign": user is not None, "echo": noted},
                    organization_id=group.organization_id,
                    integration_id=ext.integration_id,
                )
    return changed


# -- notes --------------------------------------------------------------------------------------


def add_note(group: m.Group, text: str, *, actor: m.User | None, integration: m.Integration | None = None,
             extra: dict[str, Any] | None = None) -> m.Activity:
    """Comment on an issue; linked tickets whose org syncs comments get it too (never the origin)."""
    data = {"text": text, **(extra or {}), **origin_data(integration)}
    activity = record_activity(group, "note", actor=actor, data=data)
    db.session.flush()
    _comment_outbox(group, activity, integration)
    return activity


def edit_note(activity: m.Activity, text: str) -> m.Activity:
    activity.data = {**(activity.data or {}), "text": text}
    _comment_outbox(activity.group, activity, None)
    return activity


def _comment_outbox(group: m.Group, activity: m.Activity, integration: m.Integration | None) -> None:
    origin_id = integration.id if integration else None
    for ext, org_integration in _linked_tickets([group]).get(group.id, ()):
        if ext.integration_id == origin_id or not (org_integration.config or {}).get("sync_comments"):
            continue
        add_outbox(
            "sync_comment_outbound",
            {"activity_id": activity.id, "external_issue_id": ext.id},
            organization_id=group.organization_id,
            integration_id=ext.integration_id,
        )
