"""Organizations, their people and projects, and API tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.extensions import Model, db
from hub.models.base import JSONType, UTCDateTime, new_uuid, utcnow

ROLES = ("owner", "admin", "member")

member_projects = Table(
    "member_projects",
    db.metadata,
    Column("member_id", ForeignKey("organization_members.id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
)


class Organization(Model):
    __tablename__ = "organizations"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    date_created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Browser sessions carry the version they were made under; logout and a password change bump
    # it, so every cookie issued before (a copied one too) stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    date_created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrganizationMember(Model):
    __tablename__ = "organization_members"
    __table_args__ = (UniqueConstraint("organization_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
    date_created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")
    organization: Mapped[Organization] = relationship()
    projects: Mapped[list[Project]] = relationship(secondary=member_projects, order_by="Project.id")


class Project(Model):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("organization_id", "slug"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    next_short_id: Mapped[int] = mapped_column(Integer, default=1)
    date_created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Origins browser SDKs may report from (CORS), one per line; "*" (Sentry's default) is any.
    allowed_origins: Mapped[str] = mapped_column(Text, default="*", server_default="*")

    organization: Mapped[Organization] = relationship(lazy="joined")


class ProjectKey(Model):
    """A client key: the public part of a project's DSN."""

    __tablename__ = "project_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    public_key: Mapped[str] = mapped_column(String(32), unique=True, default=new_uuid)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    date_created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    name: Mapped[str] = mapped_column(String(200), default="Default", server_default="Default")
    # Sentry's key rate limit: at most ``rate_limit_count`` events per ``rate_limit_window`` seconds.
    rate_limit_window: Mapped[int | None] = mapped_column(Integer)
    rate_limit_count: Mapped[int | None] = mapped_column(Integer)


class Release(Model):
    """A release seen in a project; the id orders releases (first seen first)."""

    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("project_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(250))
    date_added: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Environment(Model):
    __tablename__ = "environments"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))


class ApiToken(Model):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text, default="")
    date_created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class MemberInvitation(Model):
    """A pending invitation of an existing user (who belongs to another org) to join an org:
    the user becomes a member only by accepting it, never silently."""

    __tablename__ = "member_invitations"
    __table_args__ = (UniqueConstraint("organization_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"),
                                                 index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")
    project_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    date_created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")


class InviteRequest(Model):
    """A member's request to invite someone, approved or rejected by an admin (e.g. from chat)."""

    __tablename__ = "invite_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16), default="member")
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, approved, rejected
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    date_created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
    requester: Mapped[User | None] = relationship(foreign_keys=[requester_id])
