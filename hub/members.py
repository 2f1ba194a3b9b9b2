"""Organizations, members, projects, tokens and status mappings: the domain operations the API,
web pages, CLI and plugins share (each flushes; the caller commits)."""

from __future__ import annotations

import re
import secrets
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from hub import models as m
from hub import upserts
from hub.crypto import hash_token
from hub.errors import Conflict, Forbidden, NotFound, ValidationError
from hub.extensions import db

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64]
    return slug or "project"


def get_or_create_user(email: str, name: str = "") -> m.User:
    email = email.strip().lower()
    user = db.session.scalar(select(m.User).where(func.lower(m.User.email) == email))
    if user is None:
        user = upserts.get_or_create(m.User, {"email": email}, {"name": name or email.split("@")[0]})[0]
    elif name and not user.name:
        user.name = name
    return user


def add_member(
    org: m.Organization, email: str, *, role: str, projects: list[m.Project], name: str = ""
) -> m.OrganizationMember:
    """Add a user (created when new) to an org; an existing member is a conflict."""
    if role not in m.ROLES:
        raise ValidationError("Unknown role.", {"role": [f"Must be one of: {', '.join(m.ROLES)}."]})
    user = get_or_create_user(email, name)
    member, created = upserts.get_or_create(
        m.OrganizationMember, {"organization_id": org.id, "user_id": user.id}, {"role": role})
    if not created:
        raise Conflict(
            "That user is already a member of this organization.", {"email": ["Already a member."]}
        )
    member.projects = list(projects)
    db.session.flush()
    return member


# -- who may give which role: the one rule of the API, the web pages and every chat approval --------

#: The roles a member may give (add a member with, or approve an invite request for), by their role.
GRANTABLE: dict[str, tuple[str, ...]] = {"owner": m.ROLES, "admin": ("admin", "member"), "member": ()}


def check_role_grant(actor_role: str | None, role: str, *, requesting: bool = False) -> None:
    """Raise unless someone with ``actor_role`` (``None``: not a member) may give ``role``.

    Owners give any role, admins ``admin`` and ``member``, members none. Asking for an invite
    (``requesting``) is capped the same way, except that any member may ask for a ``member``.
    Called with the actor's role as it is now, at the moment of the change, never a stored one.
    """
    if role not in m.ROLES:
        raise ValidationError("Unknown role.", {"role": [f"Must be one of: {', '.join(m.ROLES)}."]})
    allowed = set(GRANTABLE.get(actor_role or "", ()))
    if requesting and actor_role in m.ROLES:
        allowed.add("member")
    if role in allowed:
        return
    may = ", ".join(r for r in m.ROLES if r in allowed) or "none"
    if requesting:
        raise Forbidden(f"You may not ask to invite someone as {role}.",
                        {"role": [f"Roles you may ask for: {may}."]})
    if not allowed:
        raise Forbidden("Only an owner or admin can add members.")
    raise Forbidden(f"Only an owner can add an {role}." if role == "owner" else f"You may not add an {role}.",
                    {"role": [f"Roles you may give: {may}."]})


def invite_member(org: m.Organization, email: str, *, role: str, projects: list[m.Project], actor: m.User,
                  name: str = "") -> m.OrganizationMember | m.MemberInvitation:
    """Add someone to an org as ``actor`` (API, web, an approved invite request): the one way in.

    The actor's role is checked now. A new user (or one in no org) becomes a member at once, as
    before; a user who already belongs to another org is never added silently: they get a pending
    :class:`MemberInvitation` which only they can accept (:func:`accept_invitation`).
    """
    actor_member = membership(actor, org)
    check_role_grant(actor_member.role if actor_member else None, role)
    email = email.strip().lower()
    user = db.session.scalar(select(m.User).where(func.lower(m.User.email) == email))
    if user is None or not db.session.scalar(select(m.OrganizationMember.id).where(
            m.OrganizationMember.user_id == user.id).limit(1)):
        return add_member(org, email, role=role, projects=projects, name=name)
    if membership(user, org) is not None:
        raise Conflict("That user is already a member of this organization.",
                       {"email": ["Already a member."]})
    invitation = m.MemberInvitation(organization_id=org.id, user_id=user.id, role=role,
                                    invited_by_id=actor.id, project_ids=[p.id for p in projects],
                                    organization=org, user=user)
    try:
        with db.session.begin_nested():
            db.session.add(invitation)
    except IntegrityError as e:  # already invited (or two identical requests at once)
        raise Conflict("That user is already invited to this organization.",
                       {"email": ["Already invited."]}) from e
    return invitation


def accept_invitation(org: m.Organization, invitation_id: int | None, user: m.User) -> m.OrganizationMember:
    """The invited user accepts: the invitation becomes a membership (once, even when raced).

    Raises ``NotFound`` for an invitation that is not this user's (nobody learns it exists).
    """
    invitation = db.session.scalar(select(m.MemberInvitation).where(
        m.MemberInvitation.id == (invitation_id or -1), m.MemberInvitation.organization_id == org.id,
        m.MemberInvitation.user_id == user.id))
    if invitation is None:
        raise NotFound("The requested resource does not exist.")
    role, project_ids = invitation.role, list(invitation.project_ids or [])
    gone = delete(m.MemberInvitation).where(m.MemberInvitation.id == invitation.id)
    if cast("CursorResult[Any]", db.session.execute(gone)).rowcount != 1:
        raise NotFound("The requested resource does not exist.")  # accepted by a concurrent request
    projects = list(db.session.scalars(select(m.Project).where(m.Project.organization_id == org.id,
                                                               m.Project.id.in_(project_ids))))
    return add_member(org, user.email, role=role, projects=projects)


def handle_invite_request(row: m.InviteRequest, approve: bool, actor: m.User) -> m.InviteRequest:
    """Approve (through :func:`invite_member`, with the approver's role of now) or reject a pending
    invite request: the API and every chat button call this. Flushes; the caller commits."""
    actor_member = membership(actor, row.organization)
    role = actor_member.role if actor_member else None
    if role not in ("owner", "admin"):
        raise Forbidden("Only an owner or admin can handle invite requests.")
    if approve:
        check_role_grant(role, row.role)
    status = "approved" if approve else "rejected"
    claimed = cast("CursorResult[Any]", db.session.execute(update(m.InviteRequest).where(
        m.InviteRequest.id == row.id, m.InviteRequest.status == "pending").values(
        status=status, handled_by_id=actor.id))).rowcount
    if claimed != 1:
        raise NotFound("This invite request no longer exists.")
    if approve:
        try:
            invite_member(row.organization, row.email, role=row.role, projects=[], actor=actor)
        except Conflict:
            pass  # already a member or invited: the request is answered all the same
    db.session.refresh(row)
    return row


def create_project(org: m.Organization, slug: str | None, name: str | None) -> m.Project:
    slug = (slug or slugify(name or "")).lower()
    if not SLUG_RE.match(slug):
        raise ValidationError("Invalid slug.", {"slug": ["Use lower-case letters, digits, '-' and '_'."]})
    project, created = upserts.get_or_create(
        m.Project, {"organization_id": org.id, "slug": slug}, {"name": name or slug, "next_short_id": 1})
    if not created:
        raise Conflict(
            "A project with this slug already exists.", {"slug": ["Already taken in this organization."]}
        )
    db.session.add(m.ProjectKey(project_id=project.id, public_key=secrets.token_hex(16), is_active=True))
    db.session.flush()
    return project


def delete_project(project: m.Project) -> None:
    """Delete a project with its rules and notification parents (and, by cascade, its issues)."""
    group_ids = select(m.Group.id).where(m.Group.project_id == project.id)
    db.session.execute(delete(m.NotificationMessage).where(m.NotificationMessage.group_id.in_(group_ids)))
    db.session.execute(delete(m.AlertRule).where(m.AlertRule.project_id == project.id))
    db.session.delete(project)
    db.session.flush()


def create_token(user: m.User, name: str = "") -> str:
    """A new API token; only its hash is stored, the value is shown once."""
    token = "hub_" + secrets.token_urlsafe(32)
    db.session.add(m.ApiToken(user_id=user.id, token_hash=hash_token(token), name=name))
    db.session.flush()
    return token


def user_for_token(token: str) -> m.User | None:
    row = db.session.scalar(select(m.ApiToken).where(m.ApiToken.token_hash == hash_token(token)))
    return row.user if row else None


def membership(user: m.User, org: m.Organization) -> m.OrganizationMember | None:
    return db.session.scalar(
        select(m.OrganizationMember).where(m.OrganizationMember.organization_id == org.id,
                                           m.OrganizationMember.user_id == user.id)
    )


def dsn(base_url: str, key: m.ProjectKey) -> str:
    scheme, _, host = base_url.partition("://")
    return f"{scheme}://{key.public_key}@{host}/{key.project_id}"


def set_status_mapping(oi: m.OrganizationIntegration, external_id: str, resolved: str,
                       unresolved: str) -> m.IntegrationExternalProject:
    """Map a provider project's resolved/unresolved status ids for one org (created or replaced)."""
    row, _ = upserts.get_or_create(
        m.IntegrationExternalProject, {"organization_integration_id": oi.id, "external_id": external_id},
        {"resolved_status": resolved, "unresolved_status": unresolved})
    row.resolved_status, row.unresolved_status = resolved, unresolved
    db.session.flush()
    return row
