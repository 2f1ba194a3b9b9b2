"""What plugins may call to read and change hub state (plugin API v1, with the hooks).

Plugins never import models or the session: they call these functions, which go through the
same paths as the REST API (one state-change path, activities, outbox, echo guard) and commit.
Every function works inside a request or a job (an app context).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis
from flask import current_app, render_template_string
from sqlalchemy import bindparam, func, select

from hub import issues, logs, members, snapshots, upserts
from hub import models as m
from hub import types as t
from hub.crypto import decrypt_json, encrypt_json, sign, unsign
from hub.driver import DriverStatement
from hub.errors import Forbidden, NotFound, ValidationError
from hub.extensions import db

# An integration's install, attach, disable and health live in hub.integrations (the one path);
# plugins keep calling them here.
from hub.integrations import (
    attach_integration,
    disable_integration,
    mark_needs_attention,
    organizations_of,
    save_integration,
    update_integration_metadata,
)
from hub.models.base import parse_id

logger = logging.getLogger("hub.services")


__all__ = [
    "hook", "config", "base_url", "sign", "unsign", "render",
    "get_integration", "get_integration_by_id", "save_integration", "update_integration_metadata",
    "disable_integration", "attach_integration", "organizations_of", "mark_needs_attention",
    "status_mapping", "get_group", "group_for_integration", "project_members", "set_status", "assign",
    "organizations_for_user", "get_identity", "link_identity", "unlink_identity", "org_role",
    "get_organization", "get_user", "user_by_email",
    "get_invite_request", "handle_invite_request", "chat_invite_request", "update_parent", "cache_get",
    "cache_set",
]


# -- app ----------------------------------------------------------------------------------------


def hook() -> Any:
    """The hook relay (``hook().sync_status_inbound(...)``), for plugins reporting changes."""
    return current_app.extensions["hub"].hook


def config(key: str, default: Any = None) -> Any:
    """A ``HUB_*`` setting."""
    return current_app.config.get(key, default)


def base_url() -> str:
    return str(current_app.config["HUB_BASE_URL"])


def render(template: str, **context: Any) -> str:
    """Render an HTML page (Jinja, autoescaped) inside the hub's page layout."""
    body = render_template_string(template, **context)
    return render_template_string(
        "{% extends 'layout.html' %}{% block content %}{{ body|safe }}{% endblock %}",
        body=body, title=context.get("title", "Integration Hub"),
    )


# -- integrations -------------------------------------------------------------------------------


def _oi(integration_id: int, organization_id: int | None) -> m.OrganizationIntegration | None:
    if organization_id is None:
        return None
    return db.session.scalar(
        select(m.OrganizationIntegration).where(
            m.OrganizationIntegration.integration_id == integration_id,
            m.OrganizationIntegration.organization_id == organization_id,
        )
    )


#: Every webhook's verifier asks this: columns on the driver's cursor (no ORM load, no identity map).
_BY_ACCOUNT = DriverStatement(lambda dialect: select(
    m.Integration.id,
    m.Integration.provider,
    m.Integration.external_id,
    m.Integration.name,
    m.Integration.metadata_encrypted,
    m.Integration.status,
).where(
    m.Integration.provider == bindparam("provider"), m.Integration.external_id == bindparam("external_id")
))


def get_integration(
    provider: str, external_id: str, organization_id: str | None = None
) -> t.Integration | None:
    """The integration for a provider account (any status), or ``None``.

    Also binds it to the current context: every later log line names it, and a webhook delivery
    being handled is recorded as this integration's (its org's admins see it). An id holding a NUL
    (read from an unverified token, say) matches none: the hub never stores one.
    """
    if "\x00" in str(external_id):
        return None
    found = _BY_ACCOUNT.first({"provider": provider, "external_id": str(external_id)})
    if found is None:
        return None
    row = snapshots.IntegrationColumns(*found)
    logs.bind(integration=row.id)
    return snapshots.integration(row, _oi(row.id, int(organization_id)) if organization_id else None)


def get_integration_by_id(integration_id: str, organization_id: str | None = None) -> t.Integration | None:
    """Like :func:`get_integration`, by the hub's id."""
    row = db.session.get(m.Integration, int(integration_id))
    if row is None:
        return None
    logs.bind(integration=row.id)
    return snapshots.integration(row, _oi(row.id, int(organization_id)) if organization_id else None)


def status_mapping(
    integration_id: str, organization_id: str, external_project_id: str
) -> dict[str, str] | None:
    """The org's status mapping for a provider project: ``{"resolved", "unresolved"}`` ids, or ``None``."""
    row = db.session.scalar(
        select(m.IntegrationExternalProject)
        .join(m.OrganizationIntegration,
              m.OrganizationIntegration.id == m.IntegrationExternalProject.organization_integration_id)
        .where(
            m.OrganizationIntegration.integration_id == int(integration_id),
            m.OrganizationIntegration.organization_id == int(organization_id),
            m.IntegrationExternalProject.external_id == str(external_project_id),
        )
    )
    return {"resolved": row.resolved_status, "unresolved": row.unresolved_status} if row else None


# -- issues -------------------------------------------------------------------------------------


def get_group(group_id: str) -> t.Group | None:
    row = _group_row(group_id)
    return snapshots.group(row) if row else None


def _group_row(group_id: Any) -> m.Group | None:
    ident = parse_id(group_id)
    return db.session.get(m.Group, ident) if ident else None


def group_for_integration(group_id: Any, integration_id: str) -> t.Group | None:
    """The issue, only when its org has this integration installed (and active); else ``None``."""
    row = _group_row(group_id)
    if row is None:
        return None
    oi = _oi(int(integration_id), row.organization_id)
    if oi is None or oi.status == "disabled":
        return None
    return snapshots.group(row)


def project_members(group_id: str) -> list[t.User]:
    """The users who can be assigned the issue (members of its project), by name."""
    row = _group_row(group_id)
    if row is None:
        return []
    users = db.session.scalars(
        select(m.User)
        .join(m.OrganizationMember, m.OrganizationMember.user_id == m.User.id)
        .join(m.member_projects, m.member_projects.c.member_id == m.OrganizationMember.id)
        .where(m.member_projects.c.project_id == row.project_id)
        .order_by(func.lower(m.User.name), m.User.email)
    ).all()
    return [snapshots.user(u) for u in users if u is not None]


def _actor_and_origin(
    row: m.Group, actor_user_id: str | None, integration_id: str | None
) -> tuple[m.User | None, m.Integration | None]:
    """Who acts and through which integration, checked against the issue's org here, whatever the
    calling plugin checked: the actor must be a member of it, the integration installed for it.

    :raises Forbidden: (403) either is not.
    """
    actor = db.session.get(m.User, int(actor_user_id)) if actor_user_id else None
    origin = db.session.get(m.Integration, int(integration_id)) if integration_id else None
    if actor_user_id and (actor is None or org_role(str(actor.id), str(row.organization_id)) is None):
        raise Forbidden("The user is not a member of the issue's organization.", {"user": ["Not a member."]})
    if integration_id:
        attached = origin is not None and db.session.scalar(select(m.OrganizationIntegration.id).where(
            m.OrganizationIntegration.integration_id == origin.id,
            m.OrganizationIntegration.organization_id == row.organization_id,
            m.OrganizationIntegration.status != "disabled"))
        if not attached:
            raise Forbidden("The integration is not installed for the issue's organization.",
                            {"integration": ["Not installed for this organization."]})
    return actor, origin


def set_status(
    group_id: str, status: str, *, actor_user_id: str | None, integration_id: str | None,
    status_details: dict[str, Any] | None = None,
) -> t.Group:
    """Change an issue's status as a user acting from a provider (chat buttons); commits.

    Linked tickets and other threads follow; the origin integration is recorded in the activity.
    Raises ``Forbidden`` when the actor is not a member of the issue's org, or the integration is
    not installed for it (checked here, whatever the calling plugin checked).
    """
    row = _group_row(group_id)
    if row is None:
        raise NotFound("issue not found")
    actor, origin = _actor_and_origin(row, actor_user_id, integration_id)
    issues.change_status([row], status, actor=actor, integration=origin, status_details=status_details,
                         sync_outbound=True)
    db.session.commit()
    return snapshots.group(row)


def assign(
    group_id: str, user_id: str | None, *, actor_user_id: str | None, integration_id: str | None
) -> t.Group:
    """Assign an issue (``user_id=None`` unassigns) as a user acting from a provider; commits.

    Raises ``ValidationError`` when the user is not a member of the issue's project.
    """
    row = _group_row(group_id)
    if row is None:
        raise NotFound("issue not found")
    ident = parse_id(user_id) if user_id else None  # "user:99999999999999999999" is nobody, not a DB error
    user = db.session.get(m.User, ident) if ident else None
    if user_id and user is None:
        raise ValidationError("Unknown user.", {"assignedTo": ["Unknown user."]})
    actor, origin = _actor_and_origin(row, actor_user_id, integration_id)
    issues.change_assignee([row], user, actor=actor, integration=origin)
    db.session.commit()
    return snapshots.group(row)


#: The chat actions and the roles that may take them (every member acts on issues, FLOWS §7).
CHAT_ACTIONS: dict[str, tuple[str, ...]] = {
    "resolve": ("owner", "admin", "member"), "unresolve": ("owner", "admin", "member"),
    "ignore": ("owner", "admin", "member"), "assign": ("owner", "admin", "member"),
    "unassign": ("owner", "admin", "member"),
    "view": ("owner", "admin", "member"),  # open a dialog of the issue's choices: the checks, no change
}
_CHAT_STATUS = {"resolve": "resolved", "unresolve": "unresolved", "ignore": "ignored"}


def chat_action(integration: t.Integration, action: t.ChatAction,
                status_details: dict[str, Any] | None = None) -> t.ChatActionResult:
    """Act on an issue as the hub user linked to a chat identity; commits when it changed something.

    The one door for chat buttons, whatever the plugin checked: the issue must belong to an org
    that has this integration installed, the chat user must be linked to a hub user (through this
    integration) who is a member of that org with a role allowed the action, and an assignee must be
    a member of the issue's project. Linked tickets and other threads follow, the origin recorded.
    """
    # In FLOWS' order: an unlinked chat user is asked to link first (and learns nothing of the issue).
    user = get_identity(integration.id, action.actor.user_id)
    group = _group_row(action.group_id)
    oi = _oi(int(integration.id), group.organization_id) if group is not None else None
    found = group is not None and oi is not None and oi.status != "disabled"
    if user is None:
        return t.ChatActionResult("link-identity", snapshots.group(group) if found and group else None)
    if group is None or not found:
        return t.ChatActionResult(
            "not-found", detail="This issue does not belong to an organization that uses this integration."
        )
    snapshot = snapshots.group(group)
    role = org_role(user.id, str(group.organization_id))
    if role is None:
        return t.ChatActionResult("not-member", snapshot, user)
    allowed = CHAT_ACTIONS.get(action.action)
    if allowed is None:
        return t.ChatActionResult("invalid", snapshot, user, f"Unknown action {action.action!r}.")
    if role not in allowed:
        return t.ChatActionResult("forbidden", snapshot, user, "Your role may not do this.")
    if action.action == "view":
        return t.ChatActionResult("unchanged", snapshot, user)
    actor, origin = _actor_and_origin(group, user.id, integration.id)  # checked above; checked again
    try:
        if action.action in _CHAT_STATUS:
            changed = issues.change_status(
                [group],
                _CHAT_STATUS[action.action],
                actor=actor,
                integration=origin,
                status_details=status_details,
                sync_outbound=True,
            )
        else:
            assignee = None
            if action.action == "assign":
                ident = parse_id(action.choice) if action.choice else None
                assignee = db.session.get(m.User, ident) if ident else None
                if assignee is None or (assignee.id, group.project_id) not in issues.project_member_ids(
                        [assignee.id], [group.project_id]):
                    db.session.rollback()
                    return t.ChatActionResult(
                        "invalid", snapshot, user, "That user cannot be assigned to this issue."
                    )
            changed = issues.change_assignee([group], assignee, actor=actor, integration=origin)
    except ValidationError as e:
        db.session.rollback()
        return t.ChatActionResult("invalid", snapshot, user, e.detail)
    db.session.commit()
    return t.ChatActionResult("applied" if changed else "unchanged", snapshots.group(group), user)


def defer(integration_id: str, task: str, payload: dict[str, Any]) -> str:
    """Run ``task`` later in a worker, with the outbox's retries: the plugin's ``run_task`` hook
    gets it (e.g. a chat message update after an interaction was answered). Commits; returns the id.

    The payload is stored encrypted: a plugin may put a credential in it (Slack's ``response_url``
    lets anyone holding it post to the channel)."""
    integration = db.session.get(m.Integration, int(integration_id))
    if integration is None:
        raise NotFound("integration not found")
    entry = issues.add_outbox("run_task", {"integration_id": integration.id, "task": task,
                                           "sealed_payload": encrypt_json(payload)},
                              integration_id=integration.id)
    db.session.commit()
    return entry.id


# -- people -------------------------------------------------------------------------------------


def get_user(user_id: str) -> t.User | None:
    return snapshots.user(db.session.get(m.User, int(user_id)))


def user_by_email(email: str) -> t.User | None:
    return snapshots.user(
        db.session.scalar(select(m.User).where(func.lower(m.User.email) == email.strip().lower()))
    )


def get_organization(slug: str) -> dict[str, str] | None:
    """An org by its slug: ``{"id", "slug", "name"}``, or ``None`` (e.g. to check a role with
    ``org_role``)."""
    org = db.session.scalar(select(m.Organization).where(m.Organization.slug == str(slug)))
    return {"id": str(org.id), "slug": org.slug, "name": org.name} if org else None


def org_role(user_id: str | None, organization_id: str) -> str | None:
    """The user's role in the org (``owner``, ``admin``, ``member``), or ``None``."""
    if not user_id:
        return None
    return db.session.scalar(
        select(m.OrganizationMember.role).where(
            m.OrganizationMember.user_id == int(user_id),
            m.OrganizationMember.organization_id == int(organization_id),
        )
    )


def organizations_for_user(
    user_id: str | None, roles: tuple[str, ...] = ("owner", "admin")
) -> list[dict[str, str]]:
    """The orgs where the user has one of ``roles``: ``[{"id", "slug", "name", "role"}]`` by slug.

    For provider setup pages that let an owner/admin choose the org to attach an install to.
    """
    if not user_id:
        return []
    rows = db.session.execute(
        select(m.Organization, m.OrganizationMember.role)
        .join(m.OrganizationMember, m.OrganizationMember.organization_id == m.Organization.id)
        .where(m.OrganizationMember.user_id == int(user_id), m.OrganizationMember.role.in_(roles))
        .order_by(m.Organization.slug)
    ).all()
    return [{"id": str(o.id), "slug": o.slug, "name": o.name, "role": r} for o, r in rows]


def get_identity(integration_id: str, external_user_id: str) -> t.User | None:
    """The hub user linked to a chat account, or ``None``."""
    row = db.session.scalar(
        select(m.Identity).where(m.Identity.integration_id == int(integration_id),
                                 m.Identity.external_id == str(external_user_id))
    )
    return snapshots.user(row.user) if row else None


def link_identity(
    integration_id: str, external_user_id: str, user_id: str, data: dict[str, Any] | None = None
) -> t.User:
    """Link (or re-link) a chat account to a hub user; commits."""
    row, _ = upserts.get_or_create(
        m.Identity, {"integration_id": int(integration_id), "external_id": str(external_user_id)},
        {"user_id": int(user_id)})
    row.user_id = int(user_id)
    row.data = data or {}
    db.session.commit()
    user = db.session.get(m.User, int(user_id))
    assert user is not None
    return snapshots.user(user)


def unlink_identity(integration_id: str, external_user_id: str) -> bool:
    """Remove a chat account's link; returns whether one existed; commits."""
    row = db.session.scalar(
        select(m.Identity).where(m.Identity.integration_id == int(integration_id),
                                 m.Identity.external_id == str(external_user_id))
    )
    if row is None:
        return False
    db.session.delete(row)
    db.session.commit()
    return True


# -- invite requests ----------------------------------------------------------------------------


def get_invite_request(invite_id: str) -> t.InviteRequest | None:
    """A *pending* invite request, or ``None`` when it does not exist or was handled."""
    row = db.session.get(m.InviteRequest, parse_id(invite_id)) if parse_id(invite_id) else None
    return snapshots.invite_request(row) if row and row.status == "pending" else None


def handle_invite_request(invite_id: str, approve: bool, actor_user_id: str) -> t.InviteRequest:
    """Approve (the member is created, or invited when they belong to another org) or reject a
    pending invite, as an org owner/admin who may give the requested role; commits.

    The same rule as the API (:func:`hub.members.handle_invite_request`, checked with the actor's
    role at this moment). Raises ``NotFound`` when it no longer exists, ``ValidationError``
    (``hub.errors.Forbidden``) when the actor may not.
    """
    row = db.session.get(m.InviteRequest, parse_id(invite_id)) if parse_id(invite_id) else None
    actor = db.session.get(m.User, parse_id(actor_user_id)) if parse_id(actor_user_id) else None
    if row is None or row.status != "pending":
        raise NotFound("This invite request no longer exists.")
    if actor is None:
        raise ValidationError("Only an owner or admin can handle invite requests.")
    try:
        members.handle_invite_request(row, approve, actor)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return snapshots.invite_request(row)


#: Who may answer an invite request from chat (which role they may give is the members rule).
CHAT_INVITE_ROLES = ("owner", "admin")


def chat_invite_request(integration: t.Integration, actor: t.ChatIdentity, invite_id: str,
                        approve: bool) -> t.ChatActionResult:
    """Approve or reject an invite request as the hub user linked to a chat identity; commits if done.

    The one door for invite buttons, whatever the plugin checked (as :func:`chat_action` for issues):
    the request must be pending and of an org that has this integration installed, the chat user
    linked (through this integration) to an owner or admin of that org, and the role the request
    asks for one they may give (:func:`hub.members.handle_invite_request`, with their role of now).
    """
    ident = parse_id(invite_id)
    row = db.session.get(m.InviteRequest, ident) if ident else None
    if row is None or row.status != "pending":
        return t.ChatActionResult("gone", detail="This invite request no longer exists.")
    invite = snapshots.invite_request(row)
    oi = _oi(int(integration.id), row.organization_id)
    if oi is None or oi.status == "disabled":
        return t.ChatActionResult("not-found", invite=invite, detail="This invite request does not belong "
                                  "to an organization that uses this integration.")
    user = get_identity(integration.id, actor.user_id)
    if user is None:
        return t.ChatActionResult("link-identity", invite=invite)
    role = org_role(user.id, str(row.organization_id))
    if role is None:
        return t.ChatActionResult("not-member", user=user, invite=invite)
    if role not in CHAT_INVITE_ROLES:
        return t.ChatActionResult("forbidden", user=user, invite=invite, detail="Only an owner or admin of "
                                  "the organization can approve or reject invite requests.")
    try:
        approver = db.session.get(m.User, int(user.id))
        assert approver is not None  # get_identity found them
        members.handle_invite_request(row, approve, approver)
    except NotFound as e:
        db.session.rollback()
        return t.ChatActionResult("gone", user=user, invite=invite, detail=str(e))  # NotFound has no .detail
    except ValidationError as e:
        db.session.rollback()
        outcome = "forbidden" if isinstance(e, Forbidden) else "invalid"
        return t.ChatActionResult(outcome, user=user, invite=invite, detail=e.detail)
    db.session.commit()
    return t.ChatActionResult("applied", user=user, invite=snapshots.invite_request(row))


# -- notifications ------------------------------------------------------------------------------


def update_parent(parent_id: str, data: dict[str, Any]) -> None:
    """Merge plugin data (e.g. a thread id) into a stored parent message; commits."""
    row = db.session.get(m.NotificationMessage, int(parent_id))
    if row is not None:
        row.data = {**(row.data or {}), **data}
        db.session.commit()


# -- cache --------------------------------------------------------------------------------------

def _local_cache() -> dict[str, tuple[float, Any]]:
    cache: dict[str, tuple[float, Any]] = current_app.extensions.setdefault("hub_local_cache", {})
    return cache


def cache_get(key: str, *, secret: bool = False) -> Any:
    """A cached JSON value (Redis, shared by processes), or ``None``. Never raises.

    ``secret=True`` reads a value stored with ``cache_set(..., secret=True)``.
    """
    try:
        raw = current_app.extensions["hub_queue"].redis.get(f"hub:cache:{key}")
        if raw is not None:
            return decrypt_json(raw.decode()) if secret else json.loads(raw)
    except (redis.RedisError, RuntimeError, ValueError):
        pass
    hit = _local_cache().get(key)
    return hit[1] if hit and hit[0] > time.monotonic() else None


def cache_set(key: str, value: Any, ttl: int = 3600, *, secret: bool = False) -> None:
    """Cache a JSON value for ``ttl`` seconds; falls back to this process when Redis is down.

    ``secret=True`` stores it Fernet-encrypted (a private key during an install flow, say).
    """
    _local_cache()[key] = (time.monotonic() + ttl, value)
    try:
        stored = encrypt_json(value) if secret else json.dumps(value)
        current_app.extensions["hub_queue"].redis.set(f"hub:cache:{key}", stored, ex=ttl)
    except redis.RedisError:
        pass
