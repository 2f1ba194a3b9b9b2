"""Provider accounts, their attachment to orgs, ticket links and chat identities."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.extensions import Model
from hub.models.base import JSONType, UTCDateTime, utcnow
from hub.models.orgs import Organization, User

SYNC_CONFIG_KEYS = (
    "sync_status_forward",
    "sync_status_reverse",
    "sync_assignee_outbound",
    "sync_assignee_inbound",
    "sync_comments",
)


class Integration(Model):
    """One provider account (a Jira site, a Slack team, a Discord guild), shared by the orgs
    that installed it. ``metadata`` is stored Fernet-encrypted as a whole."""

    __tablename__ = "integrations"
    __table_args__ = (UniqueConstraint("provider", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    metadata_encrypted: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="active")  # active, disabled
    date_created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrganizationIntegration(Model):
    __tablename__ = "organization_integrations"
    __table_args__ = (UniqueConstraint("organization_id", "integration_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # active, disabled (uninstalled), needs_attention (credentials refused by the provider)
    status: Mapped[str] = mapped_column(String(24), default="active")
    error: Mapped[str | None] = mapped_column(Text)
    date_created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    integration: Mapped[Integration] = relationship(lazy="joined")
    organization: Mapped[Organization] = relationship()


class IntegrationExternalProject(Model):
    """The status mapping of one provider project for one org (FLOWS §0)."""

    __tablename__ = "integration_external_projects"
    __table_args__ = (UniqueConstraint("organization_integration_id", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_integration_id: Mapped[int] = mapped_column(
        ForeignKey("organization_integrations.id", ondelete="CASCADE"), index=True
    )
    external_id: Mapped[str] = mapped_column(String(64))
    resolved_status: Mapped[str] = mapped_column(String(64))
    unresolved_status: Mapped[str] = mapped_column(String(64))


class ExternalIssue(Model):
    __tablename__ = "external_issues"
    __table_args__ = (
        UniqueConstraint("organization_id", "integration_id", "key"),
        Index("ix_external_issues_integration_external_id", "integration_id", "external_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(Text, default="")
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    # Out-of-order guard: provider time (epoch ms) of the last inbound change applied.
    last_inbound_at: Mapped[float | None] = mapped_column()
    # The provider's stable id of the ticket (Jira's issue id): a moved ticket keeps it, not its key.
    external_id: Mapped[str | None] = mapped_column(String(64))
    # The hub user last synced with the ticket (either way): an unassign naming nobody removes only them.
    synced_assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Per-field versions: the order key (event time, then arrival) of the last status / assignee
    # change applied from the ticket; an older one is stale (compare-and-set).
    status_order: Mapped[str | None] = mapped_column(String(40))
    assignee_order: Mapped[str | None] = mapped_column(String(40))
    # The order key of the change that last renamed the ticket (a move): an older event's key,
    # arriving late, does not rename it back.
    key_order: Mapped[str | None] = mapped_column(String(40))
    # What the hub sent the ticket and expects to come back as an echo:
    # {"status": [["resolved", epoch s], ...], "assignee": [["dana@example.com" | "", epoch s], ...]}
    expected_echoes: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=dict)
    date_added: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    integration: Mapped[Integration] = relationship(lazy="joined")


class GroupLink(Model):
    __tablename__ = "group_links"
    __table_args__ = (UniqueConstraint("group_id", "external_issue_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    external_issue_id: Mapped[int] = mapped_column(
        ForeignKey("external_issues.id", ondelete="CASCADE"), index=True
    )
    date_added: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    external_issue: Mapped[ExternalIssue] = relationship(lazy="joined")


class Identity(Model):
    """A chat account (Slack user in a team, Discord user) linked to a hub user."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("integration_id", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    date_added: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")
