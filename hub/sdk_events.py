"""From an SDK's event JSON to what ingest stores: the normalized event, its issue fields and hashes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub import grouping, normalize

TITLE_MAX = 500
#: Sentry's own tags, derived from the event and kept beside the SDK's (the issue's tags page counts them).
CONTEXT_TAGS = (
    ("os", "os.name"),
    ("browser", "browser.name"),
    ("runtime", "runtime.name"),
    ("device", "device.family"),
)


def legacy_fields(event: dict[str, Any]) -> tuple[str, str]:
    """(message, culprit) exactly as grouping version 1 computed them from the raw event."""
    message: Any = ""
    exc = event.get("exception")
    values = exc.get("values") if isinstance(exc, dict) else None
    if values and isinstance(values, list) and isinstance(values[-1], dict):
        last = values[-1]
        message = f"{last.get('type', 'Error')}: {last.get('value', '')}".strip().rstrip(":")
    if not message:
        entry = event.get("logentry")
        entry = entry if isinstance(entry, dict) else {}
        message = entry.get("formatted") or entry.get("message") or event.get("message") or ""
        if isinstance(message, dict):
            message = message.get("formatted") or message.get("message") or ""
    message = str(message or "<unlabeled event>")
    culprit = event.get("culprit") or event.get("transaction") or frame_culprit(values)
    return normalize.clean_string(message), normalize.clean_string(str(culprit or ""))


def frame_culprit(values: Any) -> str:
    """Sentry's culprit: the last in-app frame of the last exception, "module in function"."""
    if not values or not isinstance(values, list) or not isinstance(values[-1], dict):
        return ""
    st = values[-1].get("stacktrace")
    frames = (st.get("frames") if isinstance(st, dict) else None) or []
    frames = [f for f in frames if isinstance(f, dict)] if isinstance(frames, list) else []
    in_app = [f for f in frames if f.get("in_app")] or frames
    if not in_app:
        return ""
    frame = in_app[-1]
    where = frame.get("module") or frame.get("filename") or frame.get("abs_path") or "?"
    return f"{where} in {frame.get('function') or '?'}"[:1000]


def title(event: dict[str, Any]) -> str:
    """Sentry's title: "Type: value" of the last exception, else the formatted message."""
    values = (event.get("exception") or {}).get("values") or []
    if values:
        last = values[-1]
        text = f"{last.get('type') or 'Error'}: {last.get('value') or ''}".strip().rstrip(":")
        if text:
            return text
    entry = event.get("logentry") or {}
    return entry.get("formatted") or entry.get("message") or event.get("transaction") or "<unlabeled event>"


def derived_tags(event: dict[str, Any]) -> dict[str, str]:
    tags = {k: v for k, v in event.get("tags") or []}
    for key in ("level", "environment", "release", "server_name", "transaction", "dist", "logger"):
        if event.get(key):
            tags.setdefault(key, str(event[key]))
    contexts = event.get("contexts")
    contexts = contexts if isinstance(contexts, dict) else {}
    for name, tag in CONTEXT_TAGS:
        ctx = contexts.get(name)
        if isinstance(ctx, dict) and isinstance(ctx.get("name" if name != "device" else "family"), str):
            value = ctx.get("name") if name != "device" else ctx.get("family")
            version = ctx.get("version")
            tags.setdefault(tag, str(value)[: normalize.MAX_SHORT])
            if name != "device":
                tags.setdefault(
                    name, f"{value} {version}".strip()[: normalize.MAX_SHORT] if version else str(value)
                )
    person = event.get("user") or {}
    for key in ("id", "email", "username", "ip_address"):
        if person.get(key):
            tags.setdefault(
                "user", f"{key if key != 'ip_address' else 'ip'}:{person[key]}"[: normalize.MAX_SHORT]
            )
            break
    values = (event.get("exception") or {}).get("values") or []
    mechanism = values[-1].get("mechanism") if values else None
    if isinstance(mechanism, dict):
        if isinstance(mechanism.get("handled"), bool):
            tags.setdefault("handled", "yes" if mechanism["handled"] else "no")
        if isinstance(mechanism.get("type"), str):
            tags.setdefault("mechanism", mechanism["type"][: normalize.MAX_SHORT])
    url = (event.get("request") or {}).get("url")
    if isinstance(url, str):
        tags.setdefault("url", url[: normalize.MAX_SHORT])
    return tags


def from_sdk(
    raw: dict[str, Any],
    *,
    fallback_event_id: Any = None,
    received: dt.datetime | None = None,
    source_size: int | None = None,
    client_ip: str | None = None,
) -> dict[str, Any]:
    """The ``data`` that :func:`hub.ingest.ingest_event` takes, for an SDK event (EventError: 400).

    ``source_size``: the bytes of JSON ``raw`` was parsed from (a small event is not measured).
    ``client_ip``: the address the SDK's request came from (``{{auto}}`` becomes it).
    """
    event = normalize.normalize(
        raw, received=received, fallback_event_id=fallback_event_id, source_size=source_size,
        client_ip=client_ip,
    )
    legacy_message, legacy_culprit = legacy_fields(raw)
    culprit = (
        event.get("culprit")
        or event.get("transaction")
        or frame_culprit((event.get("exception") or {}).get("values"))
    )
    culprit = culprit[: normalize.MAX_SHORT]
    if not event.get("culprit") and culprit:
        event["culprit"] = culprit
    message = title(event)
    event["title"] = message.splitlines()[0][:TITLE_MAX] if message.strip() else "<unlabeled event>"
    return {
        "event_id": event["event_id"],
        "message": message,
        "level": event["level"],
        "culprit": culprit,
        "tags": derived_tags(event),
        "release": event.get("release"),
        "environment": event.get("environment"),
        "timestamp": dt.datetime.fromtimestamp(event["timestamp"], dt.UTC),
        "hashes": grouping.hashes(event, legacy_message, legacy_culprit),
        "payload": event,
    }
