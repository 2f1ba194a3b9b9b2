"""Typed views of Jira webhook payloads (Cloud and Server share the shape), checked by msgspec.

They replace raw ``data["issue"]["fields"]`` chains: a payload either converts into an
:class:`IssueUpdated` or raises :class:`hub.errors.ValidationError` (a 400). msgspec rather than
marshmallow because this runs in every webhook's ack: it checks the same shapes some thirty
times faster, which is most of what parsing a delivery costs.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec

from hub.errors import ValidationError

#: 9999-12-31 in epoch ms: a later "timestamp" is no time (and overflows a float, or a datetime).
MAX_EPOCH_MS = 253_402_300_799_999


class _User(msgspec.Struct):
    accountId: str | None = None  # Cloud
    name: str | None = None  # Server / Data Center
    key: str | None = None
    emailAddress: str | None = None
    displayName: str | None = None


class _StatusCategory(msgspec.Struct):
    key: str | None = None


class _Status(msgspec.Struct):
    id: str | None = None
    name: str | None = None
    statusCategory: _StatusCategory | None = None


class _Project(msgspec.Struct):
    id: str | None = None
    key: str | None = None


class _IssueFields(msgspec.Struct):
    summary: str | None = None
    assignee: _User | None = None
    status: _Status | None = None
    project: _Project | None = None
    updated: str | None = None


class _Issue(msgspec.Struct):
    key: Annotated[str, msgspec.Meta(min_length=1)]
    id: str | None = None
    issue_fields: _IssueFields = msgspec.field(default_factory=_IssueFields, name="fields")


class _ChangeItem(msgspec.Struct):
    field: str | None = None
    fieldId: str | None = None
    from_: Any = msgspec.field(default=None, name="from")
    to: Any = None
    fromString: str | None = None
    toString: str | None = None


class _Changelog(msgspec.Struct):
    id: Any = None
    items: list[_ChangeItem] = msgspec.field(default_factory=list)


class _IssueUpdated(msgspec.Struct):
    issue: _Issue
    timestamp: Annotated[int, msgspec.Meta(ge=0, le=MAX_EPOCH_MS)] | None = None
    webhookEvent: str | None = None
    changelog: _Changelog | None = None


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
    unreadable: tuple[str, ...] = ()  # the optional fields left out (of another type than Jira's)

    def changed(self, name: str) -> list[ChangeItem]:
        return [item for item in self.items if item.field == name]

    @property
    def assignee_unreadable(self) -> bool:
        """Whether ``issue.fields.assignee`` was there but unreadable: not the same as ``null``
        (unassigned), so no assignee change can be told from the delivery."""
        return any(path in ("issue.fields", "issue.fields.assignee") for path in self.unreadable)


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


def parse_issue_updated(payload: Any) -> IssueUpdated:
    """Check a webhook body; raises ``ValidationError`` (400) when it is not an issue event."""
    if not isinstance(payload, dict):
        raise ValidationError("The body must be a JSON object.")
    data, payload, unreadable = _readable(payload)
    issue, issue_fields = data.issue, data.issue.issue_fields
    assignee, status = issue_fields.assignee, issue_fields.status
    raw_items = ((payload.get("changelog") or {}).get("items") or []) if data.changelog else []
    items = [
        ChangeItem(field=item.field or item.fieldId or "", from_id=_text(item.from_), to_id=_text(item.to),
                   raw=dict(raw))
        for item, raw in zip(data.changelog.items if data.changelog else [], raw_items, strict=True)
    ]
    return IssueUpdated(
        key=issue.key,
        timestamp=data.timestamp or _epoch_ms(issue_fields.updated),
        assignee=JiraUser(account_id=assignee.accountId, name=assignee.name,
                          email=assignee.emailAddress or None, display_name=assignee.displayName)
        if assignee else None,
        status_id=_text(status.id) if status else None,
        status_category=_text(status.statusCategory.key) if status and status.statusCategory else None,
        project_id=_text(issue_fields.project.id) if issue_fields.project else None,
        items=items,
        issue=dict(payload["issue"]),
        unreadable=unreadable,
    )


#: How many unreadable optional fields one body may have before it is refused as no issue event.
MAX_UNREADABLE = 32


def _readable(payload: dict[str, Any]) -> tuple[_IssueUpdated, dict[str, Any], tuple[str, ...]]:
    """The body as the hub reads it, the body without the optional fields it could not read, and
    their paths.

    Only a body with no readable ``issue.key`` is refused (FLOWS §4.1). An optional field of another
    type than Jira's (a ``timestamp`` written as a date, as some Jira Server plugins send it; a status
    id given as a number) is left out: the delivery's other changes still apply, an unreadable time
    falls back to ``issue.fields.updated``, then to the arrival, and an unreadable assignee changes
    no one (:attr:`IssueUpdated.assignee_unreadable`)."""
    dropped: list[str] = []
    for _ in range(MAX_UNREADABLE):
        try:  # not strict: a timestamp may come as a numeric string, as Jira Server's plugins send it
            return msgspec.convert(payload, _IssueUpdated, strict=False), payload, tuple(dropped)
        except msgspec.ValidationError as e:
            refused = _invalid(str(e))
            path = next(iter(refused.errors), "")
            if path in ("issue", "issue.key", "_schema"):
                raise refused from None
            if not dropped:
                payload = copy.deepcopy(payload)  # once: the caller's body is left as it came
            if not _drop(payload, path):
                raise refused from None
            dropped.append(path)
    raise _invalid("Too many fields of the wrong type.")


def _drop(payload: dict[str, Any], path: str) -> bool:
    """Remove the field at ``path`` (``a.b.0.c``); ``False`` when there is none to remove."""
    *parents, name = path.split(".")
    node: Any = payload
    for part in parents:
        node = _child(node, part)
    if isinstance(node, dict) and name in node:
        del node[name]
        return True
    if isinstance(node, list) and name.isdigit() and int(name) < len(node):
        del node[int(name)]
        return True
    return False


def _child(node: Any, part: str) -> Any:
    """``node``'s field or item named ``part`` (a list's index as digits), else ``None``."""
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    return None


def _invalid(message: str) -> ValidationError:
    """msgspec's ``Expected `str`, got `int` - at `$.issue.key``` as the hub's 400, by field path."""
    reason, _, where = message.partition(" - at `$")
    path = where.rstrip("`").lstrip(".")
    missing = reason.startswith("Object missing required field `")
    if missing:  # msgspec names the missing field in the reason, the path is its parent's
        name = reason.split("`")[1]
        path, reason = f"{path}.{name}" if path else name, "Missing data for required field."
    path = path.replace("[", ".").replace("]", "")
    if path in ("issue", "issue.key"):
        return ValidationError("The payload has no issue.key.", {"issue.key": [reason]})
    if path.startswith("changelog.items."):
        return ValidationError("The changelog is malformed.", {path: [reason]})
    return ValidationError("The payload is not a Jira issue event.", {path or "_schema": [reason]})
