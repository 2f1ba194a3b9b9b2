"""Marshmallow schemas for Jira webhook payloads (Cloud and Server share the shape).

They replace raw ``data["issue"]["fields"]`` chains: a payload either loads into an
:class:`IssueUpdated` or raises :class:`hub.errors.ValidationError` (a 400).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from hub.errors import ValidationError


class _Base(Schema):
    class Meta:
        unknown = EXCLUDE


class UserSchema(_Base):
    accountId = fields.String(allow_none=True)  # Cloud
    name = fields.String(allow_none=True)  # Server / Data Center
    key = fields.String(allow_none=True)
    emailAddress = fields.String(allow_none=True)
    displayName = fields.String(allow_none=True)


class StatusCategorySchema(_Base):
    key = fields.String(allow_none=True)


class StatusSchema(_Base):
    id = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    statusCategory = fields.Nested(StatusCategorySchema, allow_none=True)


class ProjectSchema(_Base):
    id = fields.String(allow_none=True)
    key = fields.String(allow_none=True)


class IssueFieldsSchema(_Base):
    summary = fields.String(allow_none=True)
    assignee = fields.Nested(UserSchema, allow_none=True)
    status = fields.Nested(StatusSchema, allow_none=True)
    project = fields.Nested(ProjectSchema, allow_none=True)
    updated = fields.String(allow_none=True)


class IssueSchema(_Base):
    id = fields.String(allow_none=True)
    key = fields.String(required=True, validate=validate.Length(min=1))
    issue_fields = fields.Nested(IssueFieldsSchema, data_key="fields", load_default=dict)


class ChangeItemSchema(_Base):
    field = fields.String(allow_none=True)
    fieldId = fields.String(allow_none=True)
    from_ = fields.Raw(data_key="from", allow_none=True)
    to = fields.Raw(allow_none=True)
    fromString = fields.String(allow_none=True)
    toString = fields.String(allow_none=True)


class ChangelogSchema(_Base):
    id = fields.Raw(allow_none=True)
    items = fields.List(fields.Dict(), load_default=list)


#: 9999-12-31 in epoch ms: a later "timestamp" is no time (and overflows a float, or a datetime).
MAX_EPOCH_MS = 253_402_300_799_999


class IssueUpdatedSchema(_Base):
    timestamp = fields.Integer(allow_none=True, strict=False,
                               validate=validate.Range(min=0, max=MAX_EPOCH_MS))
    webhookEvent = fields.String(allow_none=True)
    issue = fields.Nested(IssueSchema, required=True)
    changelog = fields.Nested(ChangelogSchema, allow_none=True)


@dataclass(frozen=True)
class JiraUser:
    account_id: str | None = None
    name: str | None = None
    email: str | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class ChangeItem:
    field: str
    from_id: str | None
    to_id: str | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class IssueUpdated:
    """A ``jira:issue_updated`` delivery, as the handler needs it."""

    key: str
    timestamp: int | None  # epoch ms: the delivery's ``timestamp``, else ``issue.fields.updated``
    assignee: JiraUser | None
    status_id: str | None
    status_category: str | None
    project_id: str | None
    items: list[ChangeItem] = field(default_factory=list)
    issue: dict[str, Any] = field(default_factory=dict)  # the raw ``issue`` object, for the core

    def changed(self, name: str) -> list[ChangeItem]:
        return [item for item in self.items if item.field == name]


def _epoch_ms(value: str | None) -> int | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return int(dt.datetime.strptime(value, fmt).timestamp() * 1000)
        except ValueError:
            continue
    return None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


_ISSUE_UPDATED = IssueUpdatedSchema()  # a schema is stateless once built; building one per request is costly
_CHANGE_ITEM = ChangeItemSchema()


def parse_issue_updated(payload: Any) -> IssueUpdated:
    """Load a webhook body; raises ``ValidationError`` (400) when it is not an issue event."""
    if not isinstance(payload, dict):
        raise ValidationError("The body must be a JSON object.")
    try:
        data = _ISSUE_UPDATED.load(payload)
    except SchemaError as e:
        messages = e.messages if isinstance(e.messages, dict) else {"_schema": e.messages}
        issue_errors = messages.get("issue")
        if issue_errors is not None and (not isinstance(issue_errors, dict) or "key" in issue_errors):
            raise ValidationError("The payload has no issue.key.", {"issue.key": ["Missing."]}) from e
        raise ValidationError("The payload is not a Jira issue event.", _flatten(messages)) from e
    issue = data["issue"]
    issue_fields = issue.get("issue_fields") or {}
    assignee = issue_fields.get("assignee")
    status = issue_fields.get("status") or {}
    items = []
    for raw in (data.get("changelog") or {}).get("items") or []:
        try:
            item = _CHANGE_ITEM.load(raw)
        except SchemaError as e:
            messages = e.messages if isinstance(e.messages, dict) else {"_schema": e.messages}
            raise ValidationError("The changelog is malformed.", _flatten(messages)) from e
        items.append(
            ChangeItem(
                field=item.get("field") or item.get("fieldId") or "",
                from_id=_text(item.get("from_")),
                to_id=_text(item.get("to")),
                raw=dict(raw),
            )
        )
    return IssueUpdated(
        key=issue["key"],
        timestamp=data.get("timestamp") or _epoch_ms(issue_fields.get("updated")),
        assignee=JiraUser(
            account_id=assignee.get("accountId"),
            name=assignee.get("name"),
            email=(assignee.get("emailAddress") or None),
            display_name=assignee.get("displayName"),
        )
        if assignee
        else None,
        status_id=_text(status.get("id")),
        status_category=_text((status.get("statusCategory") or {}).get("key")),
        project_id=_text((issue_fields.get("project") or {}).get("id")),
        items=items,
        issue=dict(payload["issue"]),
    )


def _flatten(messages: dict[str, Any], prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = [str(v) for v in (value if isinstance(value, list) else [value])]
    return out
