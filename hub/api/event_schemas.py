"""Marshmallow schemas of the event API, client keys and project SDK settings (OpenAPI documentation)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from hub.api.schemas import Base, StrictBoolean, StrictString


class TagOut(Schema):
    key = fields.String()
    value = fields.String()


class EntryOut(Schema):
    type = fields.String(
        metadata={"description": "exception, message, breadcrumbs, request, stacktrace, threads"}
    )
    data = fields.Dict()


class EventDetailOut(Schema):
    id = fields.String()
    eventID = fields.String()
    groupID = fields.String()
    projectID = fields.String()
    title = fields.String()
    message = fields.String()
    platform = fields.String()
    type = fields.String()
    level = fields.String()
    culprit = fields.String()
    dateCreated = fields.String()
    dateReceived = fields.String()
    tags = fields.List(fields.Nested(TagOut))
    user = fields.Dict(allow_none=True)
    contexts = fields.Dict()
    context = fields.Dict(metadata={"description": "the event's extra data"})
    entries = fields.List(fields.Nested(EntryOut))
    sdk = fields.Dict(allow_none=True)
    release = fields.String(allow_none=True)
    environment = fields.String(allow_none=True)
    fingerprints = fields.List(fields.String())
    packages = fields.Dict(metadata={"description": "the SDK's modules: name → version"})
    errors = fields.List(fields.Dict(), metadata={"description": "processing errors (always empty here)"})
    _meta = fields.Dict(data_key="_meta")


class TagValueOut(Schema):
    key = fields.String()
    name = fields.String()
    value = fields.String()
    count = fields.Integer()
    firstSeen = fields.String()
    lastSeen = fields.String()


class IssueTagOut(Schema):
    key = fields.String()
    name = fields.String()
    totalValues = fields.Integer()
    uniqueValues = fields.Integer()
    topValues = fields.List(fields.Nested(TagValueOut))


class AttachmentOut(Schema):
    id = fields.String()
    name = fields.String()
    size = fields.Integer()
    mimetype = fields.String()
    type = fields.String()
    sha1 = fields.String()
    eventId = fields.String()
    dateCreated = fields.String()
    headers = fields.Dict(metadata={"description": "the attachment's Content-Type, as Sentry serves it"})


class RateLimit(Base):
    window = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=86400 * 30))
    count = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10**9))


class KeyUpdate(Base):
    name = StrictString(validate=validate.Length(min=1, max=200))
    isActive = StrictBoolean()
    rateLimit = fields.Nested(RateLimit, allow_none=True)


class KeyCreate(Base):
    name = StrictString(validate=validate.Length(min=1, max=200))
    rateLimit = fields.Nested(RateLimit, allow_none=True)


class KeyDetailOut(Schema):
    id = fields.String()
    name = fields.String()
    public = fields.String()
    dsn = fields.String()
    isActive = fields.Boolean()
    rateLimit = fields.Dict(allow_none=True)
    dateCreated = fields.String()


class ProjectSdkSettings(Base):
    allowedDomains = fields.List(
        StrictString(validate=validate.Length(min=1, max=255)), validate=validate.Length(max=100)
    )


class ProjectSdkSettingsOut(Schema):
    allowedDomains = fields.List(fields.String())
