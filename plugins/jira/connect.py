"""Atlassian Connect: the query string hash and JWT checks (qsh, HS256, signed install).

https://developer.atlassian.com/cloud/jira/platform/understanding-jwt-for-connect-apps/
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, quote


def _encode(value: str) -> str:
    # RFC 3986: only unreserved characters stay as they are (space is %20, "~" is kept).
    return quote(value, safe="~")


def canonical_query(query: str | Mapping[str, Iterable[str]] | Iterable[tuple[str, str]]) -> str:
    """Query parameters without ``jwt``, keys sorted, repeated values sorted and joined with ``,``."""
    if isinstance(query, str):
        pairs = parse_qsl(query, keep_blank_values=True)
    elif isinstance(query, Mapping):
        pairs = [(k, v) for k, values in query.items() for v in ([values] if isinstance(values, str) else values)]
    else:
        pairs = list(query)
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        if key == "jwt":
            continue
        grouped.setdefault(_encode(key), []).append(_encode(value))
    return "&".join(f"{key}={','.join(sorted(values))}" for key, values in sorted(grouped.items()))


def canonical_request(method: str, path: str, query: str | Mapping[str, Iterable[str]] | Iterable[tuple[str, str]]) -> str:
    """``METHOD&path&query``: path without trailing slash ("/" when empty), ``&`` in it escaped."""
    path = path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    if not path.startswith("/"):
        path = "/" + path
    return f"{method.upper()}&{path.replace('&', '%26')}&{canonical_query(query)}"


def query_string_hash(method: str, path: str, query: str | Mapping[str, Iterable[str]] | Iterable[tuple[str, str]] = "") -> str:
    """The Connect ``qsh`` claim: SHA-256 hex of the canonical request."""
    return hashlib.sha256(canonical_request(method, path, query).encode("utf-8")).hexdigest()
