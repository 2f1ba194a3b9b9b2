"""Issues (groups of events), their events, assignees and activity."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.extensions import Model
from hub.models.base import JSONType, UTCDateTime, utcnow
from hub.models.orgs import Project, User

STATUSES = ("unresolved", "resolved", "ignored")


class Group(Model):
    __tablename__ = "groups"
    __table_args__ = (
        UniqueConstraint("project_id", "fingerprint"),
        Index("ix_groups_org_last_seen", "organization_id", "last_seen"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    short_number: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 hex of the fingerprint parts
    title: Mapped[str] = mapped_column(Text)
    culprit: Mapped[str] = mapped_column(Text, default="")
    level: Mapped[str] = mapped_column(String(16), default="error")
    status: Mapped[str] = mapped_column(String(16), default="unresolved")
    status_details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    times_seen: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    project: Mapped[Project] = relationship(lazy="joined")
    assignee: Mapped[GroupAssignee | None] = relationship(
        back_populates="group", uselist=False, lazy="selectin"
    )

    @property
    def short_id(self) -> str:
        return f"{self.project.slug.upper()}-{self.short_number}"


class GroupAssignee(Model):
    __tablename__ = "group_assignees"
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    date_added: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    group: Mapped[Group] = relationship(back_populates="assignee")
    user: Mapped[User] = relationship(lazy="joined")


class Event(Model):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("project_id", "event_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16), default="error")
    culprit: Mapped[str] = mapped_column(Text, default="")
    release: Mapped[str | None] = mapped_column(String(250))
    environment: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    date_received: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventAttachment(Model):
    """A file an SDK sent with an event (envelope ``attachment`` item), kept in the database.

    The database, not the instance folder: every web process and machine sees it, and it is written in
    the same transaction as its event (nothing half-stored).
    """

    __tablename__ = "event_attachments"
    __table_args__ = (Index("ix_event_attachments_project_event", "project_id", "event_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(256))
    mimetype: Mapped[str] = mapped_column(String(128), default="application/octet-stream")
    type: Mapped[str] = mapped_column(String(64), default="event.attachment")
    size: Mapped[int] = mapped_column(Integer)
    sha1: Mapped[str] = mapped_column(String(40))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    date_created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Activity(Model):
    __tablename__ = "activities"
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    date_created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship(lazy="joined")
    group: Mapped[Group] = relationship()
