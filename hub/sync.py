"""Inbound sync: what a typed change (``hub.types``) does to the issues linked to its ticket.

:func:`apply` is the one path: the worker applies recorded deliveries through it
(:mod:`hub.inbound`), and so do the v1 hooks (:mod:`hub.inbound_hooks`) and ``hub reconcile``.
Nothing here reads a provider's payload. Each change costs a constant number of queries however many
issues are linked to the ticket; the caller commits.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Row, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import lazyload, selectinload

from hub import echoes, issues
from hub import models as m
from hub import types as t
from hub.extensions import db

logger = logging.getLogger("hub.sync")

Pairs = list[tuple[m.Group, m.ExternalIssue]]


@dataclass
class Applied:
    """How a change ended: ``applied``, ``stale``, ``echo`` or ``skipped`` (with the reason).

    ``by_org`` is how it ended for each org that installs the integration (by org id): orgs sharing a
    Jira site link the same ticket with their own settings, and each org's delivery log shows its own
    outcome, not the other org's."""

    state: str
    reason: str | None = None
    activity_ids: list[int] = field(default_factory=list)
    groups: list[m.Group] = field(default_factory=list)
    by_org: dict[int, tuple[str, str | None]] = field(default_factory=dict)


#: Of an org's several linked issues, the outcome it sees: any applied, else an echo, and so on
_RANK = {"applied": 4, "echo": 3, "stale": 2, "skipped": 1}


class Tally:
    """Per org, how a change ended for it: each org starts with why nothing happened to it (its sync
    is off, it links no such ticket) and each of its linked issues then raises that to the best
    outcome of any of them."""

    def __init__(self) -> None:
        self.by_org: dict[int, tuple[str, str | None]] = {}
        self._rank: dict[int, int] = {}

    def start(self, org_id: int, reason: str) -> None:
        self.by_org[org_id], self._rank[org_id] = ("skipped", reason), 0

    def note(self, org_id: int, state: str, reason: str | None = None) -> None:
        if _RANK[state] > self._rank.get(org_id, -1):
            self.by_org[org_id], self._rank[org_id] = (state, reason), _RANK[state]

    def ended(self, result: Applied) -> Applied:
        result.by_org = dict(self.by_org)
        return result


def apply(integration: m.Integration, change: t.Change, order_key: str) -> Applied:
    """Apply one change reported by ``integration``; ``order_key`` is its place in the ticket's
    event order (see :func:`hub.inbound.order_key`)."""
    db.session.info["hub_new_activity_ids"] = []
    if isinstance(change, t.StatusChange):
        result = _status(integration, change, order_key)
    elif isinstance(change, t.AssigneeChange):
        result = _assignee(integration, change, order_key)
    elif isinstance(change, t.TicketMoved):
        result = _moved(integration, change, order_key)
    elif isinstance(change, t.CommentAdded):
        result = _comment(integration, change, order_key)
    else:
        result = Applied("skipped", f"unknown change {type(change).__name__}")
    result.activity_ids = list(db.session.info.pop("hub_new_activity_ids", []))
    return result


# -- the ticket's links -----------------------------------------------------------------------


_OI = m.OrganizationIntegration.__table__
_SYNCING = (
    select(_OI.c.id, _OI.c.organization_id, _OI.c.config)
    .join(m.Integration.__table__, m.Integration.__table__.c.id == _OI.c.integration_id)
    .where(_OI.c.integration_id == bindparam("integration_id"), _OI.c.status != "disabled",
           m.Integration.__table__.c.status == "active")
)


_READS = "hub_sync_reads"


@contextmanager
def shared_reads() -> Iterator[None]:
    """Within the block (one transaction applying several changes), the orgs' sync settings and
    status mappings are read once per integration and ticket project, not once per change: a chunk
    of a busy ticket's changes then costs the statements that write, and little else. A setting
    changed meanwhile applies from the next transaction on."""
    db.session.info[_READS] = {}
    try:
        yield
    finally:
        db.session.info.pop(_READS, None)


def _shared(key: tuple[Any, ...], read: Callable[[], Any]) -> Any:
    """``read()``, or what it gave earlier in the same :func:`shared_reads` block."""
    reads: dict[tuple[Any, ...], Any] | None = db.session.info.get(_READS)
    if reads is None:
        return read()
    if key not in reads:
        reads[key] = read()
    return reads[key]


_ONLY_ORG = "hub_sync_only_org"


@contextmanager
def only_org(org_id: int) -> Iterator[None]:
    """Within the block, changes apply to this org's links only: an org's replay of a delivery from
    an integration it shares with other orgs changes nothing of theirs."""
    db.session.info[_ONLY_ORG] = org_id
    try:
        yield
    finally:
        db.session.info.pop(_ONLY_ORG, None)


def _installed(integration_id: int) -> list[Row[*tuple[Any, ...]]]:
    """The org integrations of this integration that are installed and active (within
    :func:`only_org`: that org's), whatever their settings."""
    rows = _shared(("syncing", integration_id), lambda: db.session.connection().execute(
        _SYNCING, {"integration_id": integration_id}).all())
    only = db.session.info.get(_ONLY_ORG)
    return [oi for oi in rows if only in (None, oi.organization_id)]


def _linked(integration_id: int, ticket: t.Ticket, org_ids: list[int], order_key: str, *,
            with_assignee: bool = True) -> Pairs:
    """The issues linked to the ticket, locked: by the provider's stable id when it is given (a
    moved ticket is found under its old key and takes the new one, unless this change is older
    than the move), else by key.

    The issues' rows are read ``FOR UPDATE`` (PostgreSQL); on SQLite the applying transaction
    holds the write lock already (its claim is a write), so what is read is the latest commit and
    no one changes it before ours: the state-change path need not lock and re-read them again.
    """
    if not org_ids:
        return []
    params = {"integration_id": integration_id, "key": ticket.key, "org_ids": list(org_ids)}
    if ticket.id:
        params["external_id"] = ticket.id
    # Rows of (Group, ExternalIssue): they unpack as the pairs do
    pairs = cast(Pairs, list(db.session.execute(_linked_statement(bool(ticket.id), with_assignee), params)))
    if ticket.id:
        for ext in {ext for _, ext in pairs}:
            _rekey(ext, ticket.id, ticket.key, order_key)
    return pairs


@functools.cache
def _linked_statement(by_id: bool, with_assignee: bool) -> Any:
    """:func:`_linked`'s query, built once per shape (every applied change runs it)."""
    by_key = m.ExternalIssue.key == bindparam("key")
    where = by_key
    if by_id:
        where = or_(m.ExternalIssue.external_id == bindparam("external_id"),
                    and_(by_key, m.ExternalIssue.external_id.is_(None)))
    return (
        select(m.Group, m.ExternalIssue)
        .join(m.GroupLink, m.GroupLink.group_id == m.Group.id)
        .join(m.ExternalIssue, m.ExternalIssue.id == m.GroupLink.external_issue_id)
        .where(m.ExternalIssue.integration_id == bindparam("integration_id"), where,
               m.ExternalIssue.organization_id.in_(bindparam("org_ids", expanding=True)))
        .order_by(m.Group.id)
        .options(selectinload(m.Group.assignee) if with_assignee else lazyload(m.Group.assignee))
        .with_for_update(of=m.Group)
        .execution_options(populate_existing=True)
    )


def _syncing_links(integration: m.Integration, ticket: t.Ticket, setting: str, field: str, order_key: str,
                   tally: Tally, *, with_assignee: bool = True,
                   ) -> tuple[dict[int, Row[Any]], Pairs, Applied | None]:
    """The orgs with ``setting`` on (by org id) and the issues they link to the ticket, locked;
    or, as the third value, why the change is skipped (the field's sync is off, nothing linked).
    ``tally`` starts each installed org at why nothing would happen to it."""
    syncing: dict[int, Row[Any]] = {}
    for oi in _installed(integration.id):
        if (oi.config or {}).get(setting):
            syncing[oi.organization_id] = oi
            tally.start(oi.organization_id, "not linked")
        else:
            tally.start(oi.organization_id, f"{field} sync off")
    if not syncing:
        return syncing, [], tally.ended(Applied("skipped", f"{field} sync off"))
    pairs = _linked(integration.id, ticket, list(syncing), order_key, with_assignee=with_assignee)
    if not pairs:
        return syncing, [], tally.ended(Applied("skipped", "not linked"))
    return syncing, pairs, None


def _fresh_or_stale(pairs: Pairs, column: str, order_key: str, tally: Tally, why: str) -> Pairs:
    """:func:`_fresh`, noting the tickets it leaves out as stale for their orgs."""
    fresh = _fresh(pairs, column, order_key)
    kept = {ext.id for _, ext in fresh}
    for _, ext in pairs:
        if ext.id not in kept:
            tally.note(ext.organization_id, "stale", why)
    return fresh


def _rekey(ext: m.ExternalIssue, external_id: str, key: str, order_key: str) -> bool:
    """Give a ticket row its stable id and the key a change at ``order_key`` saw; ``False`` when
    the change is older than the row's last rename (its key is the old one: a late event from
    before a move) or another row of the org has that key."""
    if ext.external_id is None:
        ext.external_id = external_id
    if ext.key == key:
        return True
    if ext.key_order is not None and order_key < ext.key_order:
        logger.info("sync.moved-key-stale", extra={"external_issue": ext.id, "key": key})
        return False
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
    ext.key_order = order_key
    return True


@functools.cache
def _fresh_statement(column: str) -> Any:
    table = m.ExternalIssue.__table__
    last = table.c[column]
    return (
        update(table)
        .where(table.c.id.in_(bindparam("ids", expanding=True)),
               or_(last.is_(None), last <= bindparam("order_key")))
        .values({column: bindparam("order_key")}).returning(table.c.id)
    )


def _fresh(pairs: Pairs, column: str, order_key: str) -> Pairs:
    """Keep the tickets this change is not older than, for one field, as a compare-and-set.

    One conditional ``UPDATE … RETURNING``: it also locks the tickets' rows until commit, so of
    two changes applied at once the older never wins, whichever a worker takes first. The same
    change applied again (a replay) passes: its key is equal, not older.
    """
    if not pairs:
        return pairs
    fresh_ids = set(db.session.connection().execute(
        _fresh_statement(column), {"ids": sorted({ext.id for _, ext in pairs}), "order_key": order_key},
    ).scalars())
    for _, ext in pairs:
        if ext.id in fresh_ids:
            db.session.expire(ext, [column])
    return [(g, ext) for g, ext in pairs if ext.id in fresh_ids]


def _user_by_email(email: str | None) -> m.User | None:
    if not email:
        return None
    return db.session.scalar(select(m.User).where(func.lower(m.User.email) == email.strip().lower()))


# -- status -----------------------------------------------------------------------------------


def decide(change: t.StatusChange, mapping: m.IntegrationExternalProject | Row[*tuple[Any, ...]] | None,
           ) -> tuple[str | None, str | None]:
    """``(target status, why not)``: the org's explicit mapping of the ticket's project first,
    else the status categories (into ``done`` resolves, out of it unresolves)."""
    if mapping is not None:
        if change.status_id == mapping.resolved_status:
            return "resolved", None
        if change.status_id == mapping.unresolved_status:
            return "unresolved", None
        return None, f"no mapping for status {change.status_name or change.status_id}"
    to_category = (change.category or "").lower() or None
    from_category = (change.from_category or "").lower() or None
    if to_category is None:
        return None, "status category unknown"
    if to_category == "done":
        return ("resolved", None) if from_category != "done" else (None, "no change")
    if from_category in ("done", None):
        return "unresolved", None
    return None, "no change"


_PROJECTS = m.IntegrationExternalProject.__table__
_MAPPINGS = select(_PROJECTS.c.organization_integration_id, _PROJECTS.c.resolved_status,
                   _PROJECTS.c.unresolved_status).where(
    _PROJECTS.c.organization_integration_id.in_(bindparam("oi_ids", expanding=True)),
    _PROJECTS.c.external_id == bindparam("project"))


def _status(integration: m.Integration, change: t.StatusChange, order_key: str) -> Applied:
    tally = Tally()
    org_integrations, pairs, skipped = _syncing_links(
        integration, change.ticket, "sync_status_reverse", "status", order_key, tally, with_assignee=False)
    if skipped:
        return skipped
    pairs = _fresh_or_stale(pairs, "status_order", order_key, tally, STALE_STATUS)
    if not pairs:
        return tally.ended(Applied("stale", STALE_STATUS))
    oi_ids, project = sorted(oi.id for oi in org_integrations.values()), change.ticket.project_id
    mappings: dict[int, Row[Any]] = _shared(("mappings", *oi_ids, project), lambda: {
        mp.organization_integration_id: mp
        for mp in db.session.connection().execute(_MAPPINGS, {"oi_ids": oi_ids, "project": project})
    })
    by_target: dict[str, list[m.Group]] = {}
    reasons: list[str] = []
    echoed = False
    for group, ext in pairs:
        target, why = decide(change, mappings.get(org_integrations[ext.organization_id].id))
        if target and echoes.consume(ext, "status", target):
            echoed = True
            tally.note(ext.organization_id, "echo", ECHO)
            continue
        if target:  # a status the hub would take (a step within one category voids nothing)
            echoes.settle(ext, "status")
        if target == "resolved" and group.status == "ignored":
            reasons.append("ignored issue stays ignored")
            tally.note(ext.organization_id, "skipped", reasons[-1])
            continue
        if target:
            by_target.setdefault(target, []).append(group)
        else:
            if why:
                reasons.append(why)
            tally.note(ext.organization_id, "skipped", why or "no change")
    changed: list[m.Group] = []
    for target, groups in by_target.items():
        changed += issues.change_status(groups, target, integration=integration, sync_outbound=False,
                                        locked=True)
    _note_changed(tally, [g for groups in by_target.values() for g in groups], changed, "no change")
    return tally.ended(_outcome(changed, echoed, reasons))


STALE_STATUS = "a newer status change was applied"
STALE_ASSIGNEE = "a newer assignee change was applied"
ECHO = "the hub's own change coming back"


def _note_changed(tally: Tally, tried: list[m.Group], changed: list[m.Group], otherwise: str) -> None:
    """Each org's issues that a state change was tried on: applied when it changed, else skipped."""
    done = {g.id for g in changed}
    for group in tried:
        if group.id in done:
            tally.note(group.organization_id, "applied")
        else:
            tally.note(group.organization_id, "skipped", otherwise)


def _outcome(changed: list[m.Group], echoed: bool, reasons: list[str]) -> Applied:
    if changed:
        return Applied("applied", groups=changed)
    if echoed:
        return Applied("echo", ECHO)
    return Applied("skipped", reasons[0] if reasons else "no change")


# -- assignee ---------------------------------------------------------------------------------


def _assignee(integration: m.Integration, change: t.AssigneeChange, order_key: str) -> Applied:
    tally = Tally()
    _, pairs, skipped = _syncing_links(
        integration, change.ticket, "sync_assignee_inbound", "assignee", order_key, tally)
    if skipped:
        return skipped
    if change.assign and not change.email:  # never act for a person we cannot name
        for _, ext in pairs:
            tally.note(ext.organization_id, "skipped", "identity unknown")
        return tally.ended(Applied("skipped", "identity unknown"))
    pairs = _fresh_or_stale(pairs, "assignee_order", order_key, tally, STALE_ASSIGNEE)
    if not pairs:
        return tally.ended(Applied("stale", STALE_ASSIGNEE))
    value = (change.email or "").strip().lower() if change.assign else ""
    echoed = False
    live: Pairs = []
    for group, ext in pairs:
        if echoes.consume(ext, "assignee", value):
            echoed = True
            tally.note(ext.organization_id, "echo", ECHO)
        else:
            echoes.settle(ext, "assignee")
            live.append((group, ext))
    if not live:
        return tally.ended(_outcome([], echoed, []))
    groups = [g for g, _ in live]
    if not change.assign:
        replaces = _unassignable(live, change.replaces_email)
        changed = issues.change_assignee(groups, None, integration=integration, replaces=replaces,
                                         locked=True)
        for group, ext in live:
            if group in changed:
                ext.synced_assignee_id = None
        why = "the issue's assignee is someone else"
        _note_changed(tally, groups, changed, why)
        return tally.ended(_outcome(changed, echoed, [why]))
    user = _user_by_email(change.email)
    members = issues.project_member_ids([user.id], {g.project_id for g in groups}) if user else set()
    eligible = [g for g in groups if user and (user.id, g.project_id) in members]
    why = "identity unknown" if not user else "not a member of the issue's project"
    _note_changed(tally, [g for g in groups if g not in eligible], [], why)
    if not user or not eligible:
        logger.warning("sync.assignee-not-found", extra={"external_issue": change.ticket.key,
                                                         "integration": integration.id})
        return tally.ended(_outcome([], echoed, [why]))
    changed = issues.change_assignee(eligible, user, integration=integration, locked=True)
    for group, ext in live:
        if group in eligible:
            ext.synced_assignee_id = user.id
    _note_changed(tally, eligible, changed, "no change")
    return tally.ended(_outcome(changed, echoed, ["no change"]))


def _unassignable(pairs: Pairs, email: str | None) -> dict[int, int | None]:
    """Whom an unassign may remove, per issue: the user it names, else the one last synced with the
    ticket; an issue assigned to someone else in the meantime keeps its assignee."""
    if email:
        user = _user_by_email(email)
        return {g.id: user.id for g, _ in pairs} if user else {}
    return {g.id: ext.synced_assignee_id for g, ext in pairs if ext.synced_assignee_id}


# -- moved tickets and comments ---------------------------------------------------------------


def _moved(integration: m.Integration, change: t.TicketMoved, order_key: str) -> Applied:
    if not change.ticket.id:
        return Applied("skipped", "the provider gave no stable id")
    known = m.ExternalIssue.external_id == change.ticket.id
    if change.old_key:
        known = or_(known, and_(m.ExternalIssue.key == change.old_key, m.ExternalIssue.external_id.is_(None)))
    only = db.session.info.get(_ONLY_ORG)
    if only is not None:
        known = and_(known, m.ExternalIssue.organization_id == only)
    tickets = db.session.scalars(
        select(m.ExternalIssue).where(m.ExternalIssue.integration_id == integration.id, known)).all()
    tally = Tally()
    for oi in _installed(integration.id):
        tally.start(oi.organization_id, "not linked")
    for ext in tickets:
        if ext.key != change.ticket.key and _rekey(ext, change.ticket.id, change.ticket.key, order_key):
            tally.note(ext.organization_id, "applied")
        elif ext.key_order is not None and order_key < ext.key_order:
            tally.note(ext.organization_id, "stale", STALE_MOVE)
        else:
            tally.note(ext.organization_id, "skipped", "no change")
        ext.external_id = ext.external_id or change.ticket.id
    states = {state for state, _ in tally.by_org.values()}
    if "applied" in states:
        return tally.ended(Applied("applied"))
    if "stale" in states:
        return tally.ended(Applied("stale", STALE_MOVE))
    return tally.ended(Applied("skipped", "not linked" if not tickets else "no change"))


STALE_MOVE = "a newer move was applied"


def _comment(integration: m.Integration, change: t.CommentAdded, order_key: str) -> Applied:
    tally = Tally()
    _, pairs, skipped = _syncing_links(
        integration, change.ticket, "sync_comments", "comment", order_key, tally)
    if skipped:
        return skipped
    noted = _noted(integration, change, order_key, [g.id for g, _ in pairs])
    _note_changed(tally, [g for g, _ in pairs if g.id in noted], [], "comment already noted")
    pairs = [(g, ext) for g, ext in pairs if g.id not in noted]
    if not pairs:  # a replay's copy: posting it again would notify and sync it twice
        return tally.ended(Applied("skipped", "comment already noted"))
    author = _user_by_email(change.author_email)
    members = issues.project_member_ids([author.id], {g.project_id for g, _ in pairs}) if author else set()
    for group, _ in pairs:
        actor = author if author and (author.id, group.project_id) in members else None
        issues.add_note(group, change.text, actor=actor, integration=integration,
                        extra={"author": change.author_name or change.author_email or "",
                               "commentId": change.comment_id, "orderKey": order_key})
    _note_changed(tally, [g for g, _ in pairs], [g for g, _ in pairs], "")
    return tally.ended(Applied("applied", groups=[g for g, _ in pairs]))


def _noted(integration: m.Integration, change: t.CommentAdded, order_key: str,
           group_ids: list[int]) -> set[int]:
    """The issues that hold this comment already, as a note from this integration: the same change
    (its ``orderKey``, which a replay's copy keeps) or the same provider comment (``commentId``)."""
    data = m.Activity.data
    same = data["orderKey"].as_string() == order_key
    if change.comment_id:
        same = or_(same, data["commentId"].as_string() == change.comment_id)
    return set(db.session.scalars(
        select(m.Activity.group_id).where(
            m.Activity.group_id.in_(group_ids), m.Activity.type == "note",
            data["integration_id"].as_string() == str(integration.id), same)))
