"""Sentry events normalized as Relay does before storing: never dropped for a value, trimmed with a note.

What comes out is Sentry's event JSON (what ``events.data`` keeps and the event API serves): known
attributes only, levels mapped (``log`` → info, ``warn`` → warning, ``critical`` → fatal), event ids
as 32 hex digits, timestamps as seconds since the epoch, strings and lists over their limits trimmed,
NUL characters removed (PostgreSQL refuses them), and every change noted in ``_meta`` the way Sentry
notes it (``{"": {"len": original length, "rem": [["!limit", "s"]]}}`` beside the trimmed value).
A field of the wrong *structure* (``exception.values`` that is not a list, a frame that is not an
object) is bad input, raised as :class:`EventError` (a 400): nothing of such an event is stored.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import math
import uuid
from collections.abc import Callable
from functools import partial
from itertools import islice
from typing import Any

LEVELS = ("fatal", "error", "warning", "info", "debug")
LEVEL_ALIASES = {"log": "info", "warn": "warning", "critical": "fatal"}
PYTHON_LEVELS = {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "fatal"}

MAX_EVENT_BYTES = 1024 * 1024
MAX_GROWTH, GROWTH_SLACK = 8, 64 * 1024  # normalized JSON <= 8 x its source + 64 KiB (see _fit)
MAX_MESSAGE = 8192  # logentry.message / formatted (Relay)
MAX_STRING = 16384  # any other free-text string (an exception value, a context line, a variable)
MAX_SHORT = 200  # culprit, transaction, tag keys and values, release (Relay)
MAX_NAME = 64  # environment, logger, platform
MAX_BREADCRUMBS = 100
MAX_FRAMES = 250
KEPT_FRAMES = 50  # the innermost frames an event over 1 MiB keeps of each stack trace
MAX_EXCEPTIONS = 25
MAX_DEPTH = 8  # databags (extra, frame vars, contexts, request data): deeper is cut
MAX_ITEMS = 200  # keys or values per databag level
PLAIN = (int, float, bool, type(None))  # JSON scalars a databag keeps as they are
MAX_EPOCH = 253402300800.0  # 10000-01-01: later is not a datetime
FUTURE_SKEW = dt.timedelta(minutes=1)
MAX_AGE = dt.timedelta(days=30)

#: Top-level attributes kept (anything else is ignored, as Relay does with unknown fields).
SIMPLE_STRINGS = {
    "logger": MAX_NAME,
    "platform": MAX_NAME,
    "transaction": MAX_SHORT,
    "server_name": MAX_STRING,
    "release": MAX_SHORT,
    "dist": MAX_NAME,
    "environment": MAX_NAME,
    "culprit": MAX_SHORT,
}
DATABAGS = ("extra", "contexts", "sdk", "modules", "debug_meta")
FRAME_STRINGS = (
    "filename",
    "abs_path",
    "module",
    "package",
    "function",
    "raw_function",
    "symbol",
    "platform",
    "instruction_addr",
    "symbol_addr",
    "image_addr",
    "context_line",
)
FRAME_LIMITS = tuple((key, MAX_STRING if key == "context_line" else 1024) for key in FRAME_STRINGS)


class EventError(ValueError):
    """The event's structure is wrong (a 400); ``field`` names where."""

    def __init__(self, field: str, message: str = "Has an unexpected type.") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Meta:
    """Sentry's ``_meta``: a tree mirroring the event, notes under the ``""`` key of each node."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def note(self, path: tuple[Any, ...], **entry: Any) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("", {}).update(entry)

    def trimmed(self, path: tuple[Any, ...], original_len: int) -> None:
        self.note(path, len=original_len, rem=[["!limit", "s"]])

    def invalid(self, path: tuple[Any, ...], value: Any, reason: str) -> None:
        shown = value if isinstance(value, str | int | float | bool) or value is None else repr(value)[:200]
        self.note(path, err=[["invalid_data", {"reason": reason}]], val=shown)


def clean_string(value: str) -> str:
    return value.replace("\x00", "") if "\x00" in value else value


def text(value: Any, limit: int, meta: Meta, path: tuple[Any, ...]) -> str | None:
    """A string field: numbers and booleans become text, NULs go, over ``limit`` is trimmed."""
    if type(value) is str and len(value) <= limit and "\x00" not in value:
        return value  # the common case, first: a typical event has hundreds of strings
    if value is None:
        return None
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, int | float):
        value = json.dumps(value)
    elif not isinstance(value, str):
        meta.invalid(path, value, "expected a string")
        return None
    cleaned = clean_string(value)
    if len(cleaned) > limit:
        meta.trimmed(path, len(cleaned))
        cleaned = cleaned[: limit - 3] + "..."
    return cleaned


def databag(value: Any, meta: Meta, path: tuple[Any, ...], depth: int = 0) -> Any:
    """Free-form data: JSON values kept, strings trimmed, depth and width capped, NULs removed.

    Plain values (short strings without NULs, numbers) are taken as they are without building their
    path, which only a note needs.
    """
    if type(value) is dict and depth < MAX_DEPTH:  # the common case first (frame vars, contexts)
        return _object(value, meta, path, depth)
    if isinstance(value, str):
        return text(value, MAX_STRING, meta, path)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= MAX_DEPTH:
        meta.note(path, rem=[["!limit", "x"]])
        return None
    if isinstance(value, dict):
        return _object(value, meta, path, depth)
    if isinstance(value, list):
        if len(value) > MAX_ITEMS:
            meta.note(path, len=len(value))
        return [
            v if type(v) is str and len(v) <= MAX_STRING and "\x00" not in v or type(v) in PLAIN
            else databag(v, meta, (*path, i), depth + 1)
            for i, v in enumerate(value[:MAX_ITEMS])
        ]
    return text(repr(value), MAX_STRING, meta, path)


def _object(value: dict[Any, Any], meta: Meta, path: tuple[Any, ...], depth: int) -> dict[str, Any]:
    """A databag's object: keys as short strings, the first :data:`MAX_ITEMS` entries (the rest noted).

    One type test per plain key and value (a typical event has hundreds); the others go the long way.
    """
    out: dict[str, Any] = {}
    for k, v in value.items() if len(value) <= MAX_ITEMS else islice(value.items(), MAX_ITEMS):
        if type(k) is not str or len(k) > MAX_SHORT or "\x00" in k:
            k = clean_string(str(k))[:MAX_SHORT]
        if type(v) is str:
            if len(v) > MAX_STRING or "\x00" in v:
                v = text(v, MAX_STRING, meta, (*path, k))
        elif type(v) not in PLAIN:
            v = databag(v, meta, (*path, k), depth + 1)
        out[k] = v
    if len(value) > MAX_ITEMS:
        meta.note(path, len=len(value))
    return out


def level(value: Any, meta: Meta) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value in PYTHON_LEVELS:
        return PYTHON_LEVELS[value]
    if isinstance(value, str):
        name = value.strip().lower()
        name = LEVEL_ALIASES.get(name, name)
        if name in LEVELS:
            return name
    if value is not None:
        meta.invalid(("level",), value, "unknown level")
    return "error"


def event_id(value: Any, fallback: Any, meta: Meta) -> str:
    for candidate in (value, fallback):
        if isinstance(candidate, str) and candidate:
            try:
                return uuid.UUID(candidate.strip()).hex
            except ValueError:
                if candidate is value:
                    meta.invalid(("event_id",), value, "not a UUID")
    return uuid.uuid4().hex


def parse_time(value: Any) -> dt.datetime | None:
    """Seconds since the epoch (number or numeric string) or ISO 8601 (naive means UTC); else ``None``."""
    try:
        if type(value) is float:  # what SDKs send (a breadcrumb's time, an event's)
            return dt.datetime.fromtimestamp(value, dt.UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return dt.datetime.fromtimestamp(float(value), dt.UTC)
        if isinstance(value, str):
            raw = value.strip()
            try:
                return dt.datetime.fromtimestamp(float(raw), dt.UTC)
            except ValueError:
                parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
                return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def timestamp(value: Any, received: dt.datetime, meta: Meta, field: str = "timestamp") -> float:
    """Seconds since the epoch; an invalid or out-of-range time becomes the received time (noted)."""
    if value is None:
        return received.timestamp()
    parsed = parse_time(value)
    if parsed is None:
        meta.invalid((field,), value, "not a timestamp")
        return received.timestamp()
    if parsed > received + FUTURE_SKEW:
        meta.note((field,), err=[["future_timestamp", {"sdk_time": str(value)[:64]}]])
        return received.timestamp()
    if parsed < received - MAX_AGE:
        meta.note((field,), err=[["past_timestamp", {"sdk_time": str(value)[:64]}]])
        return received.timestamp()
    return parsed.timestamp()


def _obj(value: Any, field: str, *, allow_none: bool = True) -> dict[str, Any] | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, dict):
        raise EventError(field, "Must be an object.")
    return value


def _values(value: Any, field: str) -> list[Any]:
    """Sentry's ``{"values": [...]}`` wrapper, or a bare list."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = value.get("values")
        if value is None:
            return []
    if not isinstance(value, list):
        raise EventError(field, "Must be a list (or an object with a list of values).")
    return value


def frame(value: Any, meta: Meta, path: tuple[Any, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EventError(".".join(map(str, path)), "A frame must be an object.")
    out: dict[str, Any] = {}
    get = value.get
    for key, limit in FRAME_LIMITS:  # plain strings (nearly all) are taken without building their path
        raw = get(key)
        if raw is None:
            continue  # missing or null: left out
        if type(raw) is str and len(raw) <= limit and "\x00" not in raw:
            out[key] = raw
        else:
            cleaned = text(raw, limit, meta, (*path, key))
            if cleaned is not None:
                out[key] = cleaned
    for key in ("lineno", "colno"):
        number = get(key)
        if type(number) is int or isinstance(number, int) and not isinstance(number, bool):
            out[key] = number
    if type(get("in_app")) is bool:
        out["in_app"] = value["in_app"]
    for key in ("pre_context", "post_context"):
        lines = get(key)
        if isinstance(lines, list):
            out[key] = [
                x if type(x) is str and len(x) <= MAX_STRING and "\x00" not in x
                else text(x, MAX_STRING, meta, (*path, key, i)) or ""
                for i, x in enumerate(lines[:50])
            ]
    if get("vars") is not None:
        out["vars"] = databag(value["vars"], meta, (*path, "vars"))
    return out


def stacktrace(value: Any, meta: Meta, path: tuple[Any, ...]) -> dict[str, Any] | None:
    st = _obj(value, ".".join(map(str, path)))
    if st is None:
        return None
    frames = st.get("frames")
    if frames is None:
        frames = []
    if not isinstance(frames, list):
        raise EventError(".".join(map(str, (*path, "frames"))), "Must be a list.")
    out_frames = [frame(f, meta, (*path, "frames", i)) for i, f in enumerate(frames)]
    out: dict[str, Any] = {"frames": out_frames}
    if len(out_frames) > MAX_FRAMES:  # keep both ends, as Relay does
        half = MAX_FRAMES // 2
        out["frames"] = out_frames[:half] + out_frames[-half:]
        out["frames_omitted"] = [half, len(out_frames) - half]
        meta.note((*path, "frames"), len=len(out_frames))
    if isinstance(st.get("registers"), dict):
        out["registers"] = databag(st["registers"], meta, (*path, "registers"))
    return out


def exception(value: Any, meta: Meta) -> dict[str, Any] | None:
    if value is None:
        return None
    values = _values(value, "exception")
    out = []
    for i, exc in enumerate(values[-MAX_EXCEPTIONS:]):
        path = ("exception", "values", i)
        if not isinstance(exc, dict):
            raise EventError(f"exception.values.{i}", "An exception must be an object.")
        item: dict[str, Any] = {}
        for key, limit in (("type", 256), ("value", MAX_STRING), ("module", 1024)):
            if key in exc:
                item[key] = text(exc[key], limit, meta, (*path, key))
        if exc.get("thread_id") is not None:
            item["thread_id"] = databag(exc["thread_id"], meta, (*path, "thread_id"))
        if exc.get("mechanism") is not None:
            item["mechanism"] = databag(
                _obj(exc["mechanism"], f"exception.values.{i}.mechanism"), meta, (*path, "mechanism")
            )
        if exc.get("stacktrace") is not None:
            item["stacktrace"] = stacktrace(exc["stacktrace"], meta, (*path, "stacktrace"))
        out.append({k: v for k, v in item.items() if v is not None})
    if len(values) > MAX_EXCEPTIONS:
        meta.note(("exception", "values"), len=len(values))
    return {"values": out} if out else None


def logentry(event: dict[str, Any], meta: Meta) -> dict[str, Any] | None:
    """``logentry`` (or the legacy ``message``, a string or object) as ``{message, params, formatted}``."""
    raw = event.get("logentry")
    if raw is None:
        raw = event.get("message")
        if isinstance(raw, str | int | float) and not isinstance(raw, bool):
            raw = {"formatted": str(raw)}
    if raw is None:
        return None
    entry = _obj(raw, "logentry")
    assert entry is not None
    out: dict[str, Any] = {}
    for key in ("message", "formatted"):
        if entry.get(key) is not None:
            out[key] = text(entry[key], MAX_MESSAGE, meta, ("logentry", key))
    params = entry.get("params")
    if isinstance(params, list | dict):
        out["params"] = databag(params, meta, ("logentry", "params"))
    if not out.get("formatted") and out.get("message"):
        out["formatted"] = _format(out["message"], out.get("params"))
    out = {k: v for k, v in out.items() if v is not None}
    return out or None


def _format(template: str, params: Any) -> str:
    try:
        if isinstance(params, list) and params and "%" in template:
            return template % tuple(params)
        if isinstance(params, dict) and params and "%(" in template:
            return template % params
    except (TypeError, ValueError, KeyError):
        pass
    return template


def tags(value: Any, meta: Meta) -> list[list[str]]:
    """Tags as Sentry stores them: ``[[key, value], ...]``, from an object or a list of pairs."""
    if value is None:
        return []
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = []
        for i, pair in enumerate(value):
            if not (isinstance(pair, list | tuple) and len(pair) == 2):
                raise EventError(f"tags.{i}", "A tag must be a [key, value] pair.")
            pairs.append((pair[0], pair[1]))
    else:
        raise EventError("tags", "Must be an object or a list of [key, value] pairs.")
    out = []
    for i, (k, v) in enumerate(pairs[:MAX_ITEMS]):
        if isinstance(k, dict | list) or isinstance(v, dict | list):
            raise EventError(f"tags.{i}", "Tag keys and values are strings.")
        key = text(k, MAX_SHORT, meta, ("tags", i, 0))
        val = text(v, MAX_SHORT, meta, ("tags", i, 1))
        if key and val is not None and val != "":
            out.append([key, val])
    return out


def breadcrumbs(value: Any, meta: Meta) -> dict[str, Any] | None:
    crumbs = _values(value, "breadcrumbs")
    if not crumbs:
        return None
    if len(crumbs) > MAX_BREADCRUMBS:
        meta.note(("breadcrumbs", "values"), len=len(crumbs))
        crumbs = crumbs[-MAX_BREADCRUMBS:]
    out = []
    for i, crumb in enumerate(crumbs):
        if not isinstance(crumb, dict):
            raise EventError(f"breadcrumbs.values.{i}", "A breadcrumb must be an object.")
        item: dict[str, Any] = {}
        get = crumb.get
        for key in ("type", "category", "message"):
            raw = get(key)
            if raw is None:
                continue
            if type(raw) is str and len(raw) <= MAX_STRING and "\x00" not in raw:
                item[key] = raw
            else:
                cleaned = text(raw, MAX_STRING, meta, ("breadcrumbs", "values", i, key))
                if cleaned is not None:
                    item[key] = cleaned
        crumb_level = get("level")
        if crumb_level is not None:
            item["level"] = crumb_level if crumb_level in LEVELS else level(crumb_level, Meta())
        sent = get("timestamp")
        if type(sent) is float and 0.0 <= sent < MAX_EPOCH:  # what SDKs send, kept as sent
            item["timestamp"] = sent
        elif sent is not None:
            when = parse_time(sent)
            if when is not None:
                item["timestamp"] = when.timestamp()
        data = get("data")
        if data is not None:
            item["data"] = databag(data, meta, ("breadcrumbs", "values", i, "data"))
        out.append(item)
    return {"values": out}


#: What an SDK sends for "the address this request came from" (Relay resolves it to the client's).
AUTO_IP = "{{auto}}"
#: Platforms whose SDKs run on the user's own device (a browser, an Apple app): Relay fills a missing
#: ``user.ip_address`` with the address the request came from, as if it were ``{{auto}}``.
INFER_IP_PLATFORMS = frozenset({"javascript", "cocoa", "objc"})
MAX_USER_ID = 128  # Relay's user.id
#: The largest number a JSON double holds exactly: a user id beyond it cannot be written out as sent.
MAX_EXACT_FLOAT = float(1 << 53)


def user(value: Any, meta: Meta, client_ip: str | None = None) -> dict[str, Any] | None:
    """Relay's user: ``id`` as text (a number is the user's id all the same) of at most 128
    characters, ``ip_address`` of ``{{auto}}`` the address the request came from; an ``ip_address``
    that is no address is dropped with a note."""
    data = _obj(value, "user")
    if not data:
        return None
    bag: dict[str, Any] = databag(data, meta, ("user",))
    if "id" in bag:
        user_id = text(lenient_string(bag.pop("id"), meta, ("user", "id")), MAX_USER_ID, meta, ("user", "id"))
        if user_id is not None:
            bag["id"] = user_id
    if client_ip and bag.get("ip_address") == AUTO_IP:
        bag["ip_address"] = client_ip
    address = bag.get("ip_address")
    if address is not None and address != AUTO_IP and not _is_ip(address):
        meta.invalid(("user", "ip_address"), bag.pop("ip_address"), "expected an ip address")
    return bag


def _is_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return isinstance(value, str)


def lenient_string(value: Any, meta: Meta, path: tuple[Any, ...]) -> str | None:
    """Relay's ``LenientString`` (Python's ``str(x)``): a number becomes its digits (a float within a
    double's exact range truncated, as Relay does), a boolean ``True``/``False``; anything else is
    dropped with a note."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and abs(value) < MAX_EXACT_FLOAT:
            return str(math.trunc(value))
        meta.invalid(path, value, "expected a number with JSON precision")
        return None
    meta.invalid(path, value, "expected a primitive value")
    return None


def request(value: Any, meta: Meta, client_ip: str | None = None) -> dict[str, Any] | None:
    data = _obj(value, "request")
    if not data:
        return None
    bag: dict[str, Any] = databag(data, meta, ("request",))
    env = bag.get("env")
    if client_ip and isinstance(env, dict) and env.get("REMOTE_ADDR") == AUTO_IP:  # as Relay resolves it
        env["REMOTE_ADDR"] = client_ip
    return bag


def normalize(
    event: dict[str, Any],
    *,
    received: dt.datetime | None = None,
    fallback_event_id: Any = None,
    source_size: int | None = None,
    client_ip: str | None = None,
) -> dict[str, Any]:
    """The event as stored (Sentry's JSON with ``_meta``); :class:`EventError` for a broken structure.

    ``source_size``: the length of the JSON ``event`` was parsed from, when known (see :func:`_fit`).
    ``client_ip``: the address the request came from, for ``{{auto}}`` (Relay's inference).
    """
    received = received or dt.datetime.now(dt.UTC)
    meta = Meta()
    out: dict[str, Any] = {
        "event_id": event_id(event.get("event_id"), fallback_event_id, meta),
        "level": level(event.get("level"), meta),
        "timestamp": timestamp(event.get("timestamp"), received, meta),
        "received": received.timestamp(),
    }
    for key, limit in SIMPLE_STRINGS.items():
        if event.get(key) is not None:
            if isinstance(event[key], dict | list):
                meta.invalid((key,), event[key], "expected a string")
                continue
            out[key] = text(event[key], limit, meta, (key,))
    out.setdefault("platform", "other")
    if event.get("start_timestamp") is not None:
        out["start_timestamp"] = timestamp(event["start_timestamp"], received, meta, "start_timestamp")
    if event.get("fingerprint") is not None:
        fp = event["fingerprint"]
        if not isinstance(fp, list) or any(isinstance(x, dict | list) for x in fp):
            raise EventError("fingerprint", "Must be a list of strings.")
        if len(fp) > MAX_ITEMS:
            meta.trimmed(("fingerprint",), len(fp))
        out["fingerprint"] = [text(x, MAX_SHORT, meta, ("fingerprint", i)) or ""
                              for i, x in enumerate(fp[:MAX_ITEMS])]
    entry = logentry(event, meta)
    if entry:
        out["logentry"] = entry
    exc = exception(event.get("exception"), meta)
    if exc:
        out["exception"] = exc
    if event.get("stacktrace") is not None:
        out["stacktrace"] = stacktrace(event["stacktrace"], meta, ("stacktrace",))
    if event.get("threads") is not None:
        threads = []
        for i, thread in enumerate(_values(event["threads"], "threads")):
            if not isinstance(thread, dict):
                raise EventError(f"threads.values.{i}", "A thread must be an object.")
            item = {
                k: databag(v, meta, ("threads", "values", i, k))
                for k, v in thread.items()
                if k != "stacktrace"
            }
            if thread.get("stacktrace") is not None:
                item["stacktrace"] = stacktrace(
                    thread["stacktrace"], meta, ("threads", "values", i, "stacktrace")
                )
            threads.append(item)
        out["threads"] = {"values": threads}
    crumbs = breadcrumbs(event.get("breadcrumbs"), meta)
    if crumbs:
        out["breadcrumbs"] = crumbs
    for key, build in (("user", user), ("request", request)):
        value = build(event.get(key), meta, client_ip)
        if value:
            out[key] = value
    if client_ip and out["platform"] in INFER_IP_PLATFORMS and not (out.get("user") or {}).get("ip_address"):
        out["user"] = {**(out.get("user") or {}), "ip_address": client_ip}
    out["tags"] = tags(event.get("tags"), meta)
    for key in DATABAGS:
        if event.get(key) is not None:
            value = event[key]
            if key in ("extra", "contexts", "sdk") and not isinstance(value, dict):
                raise EventError(key, "Must be an object.")
            out[key] = databag(value, meta, (key,))
    out["type"] = "error" if out.get("exception") else "default"
    _fit(out, meta, source_size)
    if meta.tree:
        out["_meta"] = meta.tree
    return out


def _fit(event: dict[str, Any], meta: Meta, source_size: int | None = None) -> None:
    """Keep the stored event within 1 MiB: drop the bulkiest parts first, noting each.

    ``source_size`` (the bytes of JSON the event was parsed from) spares measuring a small event:
    normalizing never makes JSON more than :data:`MAX_GROWTH` times larger (a float such as ``1e15``
    written out, ``\\u`` escapes of UTF-8, ``true`` as a string), plus a constant for the fields it adds.
    Each step says how many bytes it removed, so the event is measured again only when the running
    total says it fits (linear in its size, however many steps). What still does not fit after every
    step keeps only what names and groups it (:func:`_essentials`).
    """
    if source_size is not None and source_size * MAX_GROWTH + GROWTH_SLACK <= MAX_EVENT_BYTES:
        return
    total = _json_size(event)
    if total <= MAX_EVENT_BYTES:
        return
    for path, drop in _bulky(event):
        removed = drop()
        if not removed:
            continue
        meta.note(path, rem=[["!limit", "x"]])
        total -= removed
        if total <= MAX_EVENT_BYTES:
            total = _json_size(event)
            if total <= MAX_EVENT_BYTES:
                return
    _essentials(event)
    meta.tree.clear()  # its notes name parts that are gone
    meta.note((), rem=[["!limit", "x"]])


def _json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str).encode())


def _pop(container: dict[str, Any], key: str) -> int:
    """Remove ``key``; the bytes of JSON that took (its key, value, colon and comma)."""
    if key not in container:
        return 0
    return _json_size(key) + _json_size(container.pop(key)) + 2


def _pop_context(frame: dict[str, Any]) -> int:
    return sum(_pop(frame, k) for k in ("pre_context", "post_context", "context_line"))


def _cut(container: dict[str, Any], key: str, limit: int) -> int:
    value = container.get(key)
    if not isinstance(value, str) or len(value) <= limit:
        return 0
    before = _json_size(value)
    container[key] = value[:limit]
    return before - _json_size(container[key])


def _exceptions_of(event: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(i, exc) for i, exc in enumerate((event.get("exception") or {}).get("values") or [])
            if isinstance(exc, dict)]


def _bulky(event: dict[str, Any]) -> list[tuple[tuple[Any, ...], Callable[[], int]]]:
    steps: list[tuple[tuple[Any, ...], Callable[[], int]]] = []
    exceptions = _exceptions_of(event)
    for i, exc in exceptions:
        for j, fr in enumerate((exc.get("stacktrace") or {}).get("frames") or []):
            if "vars" in fr:
                steps.append((("exception", "values", i, "stacktrace", "frames", j, "vars"),
                              partial(_pop, fr, "vars")))
    for key in ("breadcrumbs", "extra", "request", "modules", "debug_meta", "threads", "contexts"):
        if key in event:
            steps.append(((key,), partial(_pop, event, key)))
    for i, exc in exceptions:
        for j, fr in enumerate((exc.get("stacktrace") or {}).get("frames") or []):
            steps.append((("exception", "values", i, "stacktrace", "frames", j),
                          partial(_pop_context, fr)))
        steps.append((("exception", "values", i, "value"), partial(_cut, exc, "value", MAX_MESSAGE)))
    for key in ("user", "sdk", "stacktrace"):
        if key in event:
            steps.append(((key,), partial(_pop, event, key)))
    if isinstance(event.get("logentry"), dict):
        steps.append((("logentry", "params"), partial(_pop, event["logentry"], "params")))
    for i, exc in exceptions:  # the outermost frames (the innermost, where it failed, are kept)
        frames = (exc.get("stacktrace") or {}).get("frames")
        if isinstance(frames, list) and len(frames) > KEPT_FRAMES:
            steps.append((("exception", "values", i, "stacktrace", "frames"),
                          partial(_drop_outer_frames, frames)))
    return steps


def _drop_outer_frames(frames: list[Any]) -> int:
    """Keep the :data:`KEPT_FRAMES` innermost frames (the list is outermost first, as Sentry's)."""
    gone = frames[: len(frames) - KEPT_FRAMES]
    del frames[: len(gone)]
    return sum(_json_size(f) + 1 for f in gone)


def _essentials(event: dict[str, Any]) -> None:
    """The event reduced to what names and groups it, each string short: its identity and time, its
    release and environment, the message, tags, fingerprint, and each exception's type, value and
    innermost frames' module, function, file and line."""
    kept = {k: event[k] for k in ("event_id", "level", "timestamp", "received", "platform", "type",
                                  "start_timestamp", "fingerprint", "tags", *SIMPLE_STRINGS) if k in event}
    entry = event.get("logentry")
    if isinstance(entry, dict):
        kept["logentry"] = {k: entry[k][:MAX_MESSAGE] for k in ("message", "formatted")
                            if isinstance(entry.get(k), str)}
    values = []
    for _, exc in _exceptions_of(event)[-MAX_EXCEPTIONS:]:
        item = {k: exc[k][:MAX_SHORT] for k in ("type", "module") if isinstance(exc.get(k), str)}
        if isinstance(exc.get("value"), str):
            item["value"] = exc["value"][:MAX_MESSAGE]
        frames = (exc.get("stacktrace") or {}).get("frames")
        if isinstance(frames, list):
            item["stacktrace"] = {"frames": [
                {k: (f[k][:MAX_SHORT] if isinstance(f[k], str) else f[k])
                 for k in ("module", "function", "filename", "lineno", "in_app") if k in f}
                for f in frames[-KEPT_FRAMES:] if isinstance(f, dict)]}
        values.append(item)
    if values:
        kept["exception"] = {"values": values}
    event.clear()
    event.update(kept)
