"""How pages say things: relative times, activities in words, an event's exception and breadcrumbs.

Event payloads are read defensively: ``events.data`` holds what the SDK sent (Sentry's event JSON)
and any part may be missing or of the wrong shape; the page shows what is there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

PROVIDER_NAMES: dict[str, str] = {}  # filled per request from provider_info (key -> name)


def reltime(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if value is None:
        return "never"
    now = now or dt.datetime.now(dt.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    seconds = int((now - value).total_seconds())
    if seconds < 45:
        return "just now"
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if unit == 'day' and n > 1 else ''} ago"
    return "just now"  # pragma: no cover


def fingerprint(value: Any) -> str:
    """What a settings form saw of a row: a later change makes the posted fingerprint differ, and
    the form is refused with a message instead of silently overwriting someone else's change."""
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def parse_iso(value: str | None) -> dt.datetime | None:
    """A time the API gave as ISO 8601 (``...Z``), for the ``when`` macro."""
    try:
        return dt.datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def exact(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def _who(activity: Any) -> str:
    user = activity.user
    return (user.name or user.email) if user is not None else "The hub"


def _origin(data: dict[str, Any], names: dict[str, str]) -> str:
    provider = data.get("provider") if data.get("integration_id") else None
    return f" from {names.get(provider, provider)}" if provider else ""


def activity_text(activity: Any, names: dict[str, str]) -> str:
    """One sentence: "Dana resolved this issue from Slack"."""
    data = activity.data if isinstance(activity.data, dict) else {}
    who, origin = _who(activity), _origin(data, names)
    kind = activity.type
    if kind == "set_resolved":
        how = (
            " in the next release"
            if data.get("inNextRelease")
            else (f" in release {data['inRelease']}" if data.get("inRelease") else "")
        )
        return f"{who} resolved this issue{how}{origin}"
    if kind == "set_unresolved":
        return f"{who} marked this issue unresolved{origin}"
    if kind == "set_ignored":
        return f"{who} ignored this issue{origin}"
    if kind == "set_regression":
        return "The issue came back (regression)"
    if kind == "assigned":
        target = data.get("assigneeEmail") or data.get("email") or data.get("assignee") or "someone"
        return f"{who} assigned this issue to {target}{origin}"
    if kind == "unassigned":
        return f"{who} unassigned this issue{origin}"
    if kind == "create_issue":
        verb = "created" if data.get("new") else "linked"
        key = data.get("key") or "a ticket"
        provider = names.get(str(data.get("provider")), data.get("provider") or "")
        return f"{who} {verb} {provider} ticket {key}".replace("  ", " ")
    if kind == "first_seen":
        return "First seen"
    if kind == "note":
        return f"{who} commented{origin}"
    return f"{who}: {kind.replace('_', ' ')}"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def exceptions(data: Any) -> list[dict[str, Any]]:
    """``[{"type", "value", "frames": [...]}]``, innermost exception first, in-app frames first."""
    values = _dict(data).get("exception")
    values = _list(_dict(values).get("values")) if isinstance(values, dict) else _list(values)
    out = []
    for exc in reversed([v for v in values if isinstance(v, dict)]):
        frames = [f for f in _list(_dict(exc.get("stacktrace")).get("frames")) if isinstance(f, dict)]
        frames = list(reversed(frames))  # Sentry sends oldest first; the crash site reads best on top
        frames.sort(key=lambda f: not f.get("in_app"))
        out.append(
            {
                "type": str(exc.get("type") or ""),
                "value": str(exc.get("value") or ""),
                "frames": [
                    {
                        "file": str(f.get("filename") or f.get("abs_path") or f.get("module") or "?"),
                        "function": str(f.get("function") or "?"),
                        "line": f.get("lineno"),
                        "context": str(f.get("context_line") or "").strip(),
                        "in_app": bool(f.get("in_app")),
                    }
                    for f in frames[:50]
                ],
            }
        )
    return out


def breadcrumbs(data: Any) -> list[dict[str, str]]:
    crumbs = _dict(data).get("breadcrumbs")
    crumbs = _list(_dict(crumbs).get("values")) if isinstance(crumbs, dict) else _list(crumbs)
    return [
        {
            "time": str(c.get("timestamp") or ""),
            "category": str(c.get("category") or c.get("type") or ""),
            "level": str(c.get("level") or ""),
            "message": str(c.get("message") or _dict(c.get("data")) or ""),
        }
        for c in crumbs[-30:]
        if isinstance(c, dict)
    ]


def tags(event: Any) -> list[tuple[str, str]]:
    found = _dict(getattr(event, "data", None)).get("tags")
    pairs: list[tuple[str, str]] = []
    if isinstance(found, dict):
        pairs = [(str(k), str(v)) for k, v in found.items()]
    elif isinstance(found, list):
        pairs = [(str(t[0]), str(t[1])) for t in found if isinstance(t, (list, tuple)) and len(t) == 2]
    if not pairs and isinstance(getattr(event, "tags", None), dict):
        pairs = [(str(k), str(v)) for k, v in event.tags.items()]
    return sorted(pairs)[:50]
