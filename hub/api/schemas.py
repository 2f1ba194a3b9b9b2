"""Marshmallow schemas: request validation, and the source of ``/api/0/openapi.json``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from hub.models import ROLES, STATUSES, SYNC_CONFIG_KEYS


class Base(Schema):
    class Meta:
        unknown = EXCLUDE


class StrictString(fields.String):
    """A string that refuses numbers and other types (no silent coercion)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise ValidationError("Not a valid string.")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """true or false only: no "yes", 1 or "true" strings."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean.")
        return value


class EventTimestamp(fields.Field[dt.datetime]):
    """ISO 8601 (naive means UTC) or seconds since the epoch, as SDKs send it."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool):
            raise ValidationError("Not a valid timestamp.")
        if isinstance(value, int | float):
            try:
                return dt.datetime.fromtimestamp(float(value), dt.UTC)
            except (OverflowError, OSError, ValueError) as e:
                raise ValidationError("Not a valid timestamp.") from e
        if isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError as e:
                raise ValidationError("Not a valid ISO 8601 timestamp.") from e
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
            try:
                return parsed.astimezone(dt.UTC)  # year 1 at +14:00 has no UTC time
            except OverflowError as e:
                raise ValidationError("Not a valid timestamp.") from e
        raise ValidationError("Not a valid timestamp.")


class IdString(fields.String):
    """An id given as a string or an integer, kept as a string."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValidationError("Not a valid id.")
        value = str(value)
        if not value.strip():
            raise ValidationError("Must not be empty.")
        return value


# -- requests -----------------------------------------------------------------------------------


class MemberCreate(Base):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = StrictString(load_default="", validate=validate.Length(max=200))
    role = StrictString(load_default="member", validate=validate.OneOf(ROLES))
    projects = fields.List(StrictString(), load_default=list)


class ProjectCreate(Base):
    slug = StrictString(validate=validate.Length(min=1, max=64))
    name = StrictString(validate=validate.Length(min=1, max=200))

    @validates_schema
    def _slug_or_name(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("slug") and not data.get("name"):
            raise ValidationError("Give a slug or a name.", "slug")


class EventCreate(Base):
    message = StrictString(required=True, validate=validate.Length(min=1, max=8192))
    event_id = StrictString(
        validate=validate.Regexp(r"^[0-9a-fA-F-]{32,36}$", error="Must be a 32-character hex id.")
    )
    level = StrictString(
        load_default="error", validate=validate.OneOf(("fatal", "error", "warning", "info", "debug"))
    )
    culprit = StrictString(load_default="", validate=validate.Length(max=1000))
    fingerprint = fields.List(StrictString(), validate=validate.Length(min=1))
    tags = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict)
    release = StrictString(allow_none=True, validate=validate.Length(max=250))
    environment = StrictString(allow_none=True, validate=validate.Length(max=64))
    timestamp = EventTimestamp()


class StatusDetails(Base):
    inNextRelease = StrictBoolean()
    inRelease = StrictString(validate=validate.Length(min=1, max=250))


class IssueUpdate(Base):
    status = StrictString(validate=validate.OneOf(STATUSES))
    statusDetails = fields.Nested(StatusDetails)
    assignedTo = StrictString(allow_none=True)

    @validates_schema
    def _details_need_resolved(self, data: dict[str, Any], **kwargs: Any) -> None:
        details = data.get("statusDetails")
        if (
            details
            and (details.get("inNextRelease") or details.get("inRelease"))
            and data.get("status", "resolved") != "resolved"
        ):
            raise ValidationError("Release details apply to a resolution.", "statusDetails")


class ExternalIssueCreate(Base):
    integrationId = IdString(required=True, validate=validate.Length(max=20))
    action = StrictString(required=True, validate=validate.OneOf(("create", "link")))
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.Raw(), load_default=dict)
    externalIssue = StrictString(validate=validate.Length(min=1, max=128))

    @validates_schema
    def _key_for_link(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("action") == "link" and not data.get("externalIssue"):
            raise ValidationError("Missing data for required field.", "externalIssue")


class IntegrationCreate(Base):
    provider = StrictString(required=True, validate=validate.Length(min=1, max=64))
    externalId = IdString(required=True, validate=validate.Length(max=255))
    name = StrictString(load_default="", validate=validate.Length(max=255))
    metadata = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict)
    linkToken = StrictString()


class IntegrationConfig(Base):
    sync_status_forward = StrictBoolean()
    sync_status_reverse = StrictBoolean()
    sync_assignee_outbound = StrictBoolean()
    sync_assignee_inbound = StrictBoolean()
    sync_comments = StrictBoolean()


class IntegrationUpdate(Base):
    config = fields.Nested(IntegrationConfig, required=True)


class ExternalProjectCreate(Base):
    externalId = IdString(required=True, validate=validate.Length(max=64))
    resolvedStatus = IdString(required=True, validate=validate.Length(max=64))
    unresolvedStatus = IdString(required=True, validate=validate.Length(max=64))


class RuleCondition(Base):
    id = StrictString(
        required=True, validate=validate.OneOf(("first_seen_event", "regression_event", "every_event"))
    )


class RuleAction(Base):
    integrationId = IdString(required=True, validate=validate.Length(max=20))
    channelId = IdString(required=True, validate=validate.Length(max=128))


class RuleCreate(Base):
    name = StrictString(required=True, validate=validate.Length(min=1, max=200))
    conditions = fields.List(fields.Nested(RuleCondition), required=True, validate=validate.Length(min=1))
    actions = fields.List(fields.Nested(RuleAction), required=True, validate=validate.Length(min=1))


class CommentCreate(Base):
    text = StrictString(required=True, validate=validate.Length(min=1, max=20000))


class InviteRequestCreate(Base):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    role = StrictString(load_default="member", validate=validate.OneOf(ROLES))


class InviteRequestUpdate(Base):
    approve = StrictBoolean(required=True)


# -- responses (documentation of what the API returns) ------------------------------------------


class AssigneeOut(Schema):
    type = fields.String()
    id = fields.String()
    email = fields.String()


class ExternalIssueOut(Schema):
    id = fields.String()
    integrationId = fields.String()
    provider = fields.String()
    key = fields.String()
    url = fields.String()
    title = fields.String()


class IssueOut(Schema):
    id = fields.String()
    shortId = fields.String()
    title = fields.String()
    culprit = fields.String()
    level = fields.String()
    status = fields.String()
    statusDetails = fields.Dict()
    project = fields.Dict()
    assignedTo = fields.Nested(AssigneeOut, allow_none=True)
    externalIssues = fields.List(fields.Nested(ExternalIssueOut))
    count = fields.String(metadata={"description": "events seen, a string as Sentry serves it"})
    firstSeen = fields.String()
    lastSeen = fields.String()
    permalink = fields.String()


class ActivityOut(Schema):
    id = fields.String()
    type = fields.String()
    user = fields.Dict(allow_none=True)
    data = fields.Dict()
    dateCreated = fields.String()


class MemberOut(Schema):
    id = fields.String()
    userId = fields.String()
    email = fields.String()
    name = fields.String()
    role = fields.String()
    projects = fields.List(fields.String())
    pending = fields.Boolean(metadata={"description": "an invitation not accepted yet (no name shown)"})


class InvitationOut(Schema):
    id = fields.String()
    organization = fields.String()
    role = fields.String()
    projects = fields.List(fields.String())
    dateCreated = fields.String()


class ProjectOut(Schema):
    id = fields.String()
    slug = fields.String()
    name = fields.String()
    dateCreated = fields.String()


class EventOut(Schema):
    eventId = fields.String()
    groupId = fields.String()
    isNew = fields.Boolean()


class IntegrationOut(Schema):
    id = fields.String()
    provider = fields.String()
    name = fields.String()
    externalId = fields.String()
    status = fields.String()
    error = fields.String(allow_none=True)
    warnings = fields.List(fields.String())
    config = fields.Dict()


class ExternalProjectOut(Schema):
    id = fields.String()
    externalId = fields.String()
    resolvedStatus = fields.String()
    unresolvedStatus = fields.String()


class RuleOut(Schema):
    id = fields.String()
    name = fields.String()
    conditions = fields.List(fields.Dict())
    actions = fields.List(fields.Dict())
    dateCreated = fields.String()


class KeyOut(Schema):
    id = fields.String()
    public = fields.String()
    dsn = fields.String()
    isActive = fields.Boolean()


class ErrorOut(Schema):
    detail = fields.String()
    errors = fields.Dict()


SYNC_KEYS = SYNC_CONFIG_KEYS
