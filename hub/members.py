"""Organizations, members, projects, tokens and status mappings: the domain operations the API,
web pages, CLI and plugins share (each flushes; the caller commits)."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import delete, func, select

from hub import models as m
from hub import upserts
from hub.crypto import hash_token
from hub.errors import Conflict, ValidationError
from hub.extensions import db

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64]
    return slug or "project"


def get_or_create_user(email: str, name: str = "") -> m.User:
    email = email.strip().lower()
    user = db.session.scalar(select(m.User).where(func.lower(m.User.email) == email))
    if user is None:
        user, _ = upserts.get_or_create(m.User, {"email": email}, {"name": name or email.split("@")[0]})
    elif name and not user.name:
        user.name = name
    return user


def add_member(org: m.Organization, email: str, *, role: str, projects: list[m.Project], name: str = "") -> m.OrganizationMember:
    """Add a user (created when new) to an org; an existing member is a conflict."""
    if role not in m.ROLES:
        raise ValidationError("Unknown role.", {"role": [f"Must be one of: {', '.join(m.ROLES)}."]})
    user = get_or_create_user(email, name)
    member, created = upserts.get_or_create(
        m.OrganizationMember, {"organization_id": org.id, "user_id": user.id}, {"role": role})
    if not created:
        raise Conflict("That user is already a member of this organization.", {"email": ["Already a member."]})
    member.projects = list(projects)
    db.session.flush()
    return member


def create_project(org: m.Organization, slug: str | None, name: str | None) -> m.Project:
    slug = (slug or slugify(name or "")).lower()
    if not SLUG_RE.match(slug):
        raise ValidationError("Invalid slug.", {"slug": ["Use lower-case letters, digits, '-' and '_'."]})
    project, created = upserts.get_or_create(
        m.Project, {"organization_id": org.id, "slug": slug}, {"name": name or slug, "next_short_id": 1})
    if not created:
        raise Conflict("A project with this slug already exists.", {"slug": ["Already taken in this organization."]})
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
