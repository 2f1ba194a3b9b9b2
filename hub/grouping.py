"""Which issue an event joins: Sentry-style grouping (version 2), with the first version still matched.

Version 2 hashes, in order of preference:
1. the SDK's ``fingerprint``, where ``{{ default }}`` stands for the components below;
2. with a stack trace: per exception of the chain, its type and the in-app frames' module (or file name)
   and function, falling back to all frames when none is in-app; the exception *value* is ignored, so
   ``KeyError: 'user_17'`` and ``KeyError: 'user_42'`` raised on one line are one issue;
3. without one: the log message *template* (``logentry.message``, before its parameters are filled in),
   else the formatted message.
Version 1 (the hub before) hashed the message and culprit (or the fingerprint); it is computed too and
checked second, so issues grouped under version 1 keep receiving their events.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

VERSION = 2
DEFAULT = "{{ default }}"
#: Sentry reads the placeholder with or without the spaces (``{{default}}``), in any case.
_DEFAULT_SPELLING = re.compile(r"\{\{\s*default\s*\}\}", re.IGNORECASE)


def fingerprint_hash(parts: list[str]) -> str:
    """Version 1: what the hub has always stored in ``groups.fingerprint``."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _v2_hash(parts: list[str]) -> str:
    return hashlib.sha256(("v2\x1e" + "\x1f".join(parts)).encode()).hexdigest()


def _frame_components(frames: list[dict[str, Any]]) -> list[str]:
    chosen = [f for f in frames if f.get("in_app")] or frames
    out = []
    for f in chosen:
        where = f.get("module") or f.get("filename") or f.get("abs_path") or ""
        function = f.get("function") or ""
        if where or function:
            out.append(f"{where}:{function}")
    return out


def default_components(event: dict[str, Any]) -> list[str]:
    """Version 2's components of a normalized event (see the module docstring)."""
    parts: list[str] = []
    for exc in (event.get("exception") or {}).get("values") or []:
        frames = _frame_components((exc.get("stacktrace") or {}).get("frames") or [])
        if frames:
            parts += [f"type:{exc.get('type') or ''}", *frames]
    if parts:
        return ["stacktrace", *parts]
    stacks = [event.get("stacktrace") or {}] + [
        t.get("stacktrace") or {}
        for t in (event.get("threads") or {}).get("values") or []
        if t.get("crashed")
    ]
    for st in stacks:
        frames = _frame_components(st.get("frames") or [])
        if frames:
            return ["stacktrace", *frames]
    entry = event.get("logentry") or {}
    template = entry.get("message") or entry.get("formatted")
    if template:
        return ["message", template]
    values = (event.get("exception") or {}).get("values") or []
    if values:  # an exception without frames: its type and value, as Sentry does
        return ["exception", *(f"{e.get('type') or ''}:{e.get('value') or ''}" for e in values)]
    return ["fallback", event.get("transaction") or event.get("culprit") or ""]


def hashes(event: dict[str, Any], legacy_message: str, legacy_culprit: str) -> list[str]:
    """[version 2 hash, version 1 hash] of a normalized event; a new issue takes the first."""
    fingerprint = event.get("fingerprint") or []
    if fingerprint:
        parts: list[str] = []
        for x in fingerprint:
            parts += default_components(event) if _DEFAULT_SPELLING.fullmatch(x) else [f"fp:{x}"]
        v2 = _v2_hash(parts)
    else:
        v2 = _v2_hash(default_components(event))
    legacy_fp = [x for x in fingerprint if x != DEFAULT]  # as version 1 read it: its hashes stay
    v1 = fingerprint_hash(legacy_fp if legacy_fp else [legacy_message, legacy_culprit])
    return [v2, v1]
