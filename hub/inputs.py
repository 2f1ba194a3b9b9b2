"""Text from outside, made safe to store: no NUL characters, no JSON deeper than the decoder goes.

PostgreSQL's text and JSONB types cannot hold ``\\x00`` (psycopg raises ``DataError``), and no
database driver can encode a lone UTF-16 surrogate (JSON's ``"\\ud800"``). Such text must never get
past the edges: the REST API and the web pages refuse it (400); the webhook door strips NULs from
what plugins read and replaces lone surrogates with U+FFFD (a provider's delivery is still handled;
its signed bytes are kept). The walks are iterative: a value nested as deep as the JSON decoder
allows must not overflow the stack.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import SplitResult, urlsplit

from werkzeug.datastructures import MultiDict

from hub import fastjson

NUL = "\x00"
#: A JSON escape of a UTF-16 surrogate (``\ud800``-``\udfff``): a lone one decodes to unstorable text.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _unstorable(text: str) -> bool:
    if NUL in text:
        return True
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return True
    return False


def _clean(text: str) -> str:
    text = text.replace(NUL, "")
    if _unstorable(text):
        text = _LONE_SURROGATE.sub("\ufffd", text)  # one U+FFFD each, as a decoder replaces one
    return text


def find_nul(value: Any, name: str = "") -> str | None:
    """The location (``a.b.0`` style, ``name`` first) of the first string or key holding a NUL (or a
    lone surrogate), or ``None``."""
    stack: list[tuple[str, Any]] = [(name, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if _unstorable(item):
                return where or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                child_where = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and _unstorable(key):
                    return _clean(child_where)
                stack.append((child_where, child))
        elif isinstance(item, list | tuple):
            stack.extend((f"{where}.{i}" if where else str(i), child) for i, child in enumerate(item))
    return None


def first_nul(pairs: Iterable[tuple[str, Any]]) -> str | None:
    """:func:`find_nul` over named values (a query string, a form, URL path values)."""
    for key, value in pairs:
        where = find_nul(key, key) or find_nul(value, key)
        if where is not None:
            return _clean(where)
    return None


def strip_nul(value: Any) -> Any:
    """``value`` with its strings and keys made storable (a copy only where one was not)."""
    if isinstance(value, str):
        return _clean(value)
    if find_nul(value) is None:
        return value
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(root, 0, value)]  # (container, index or key, original)
    while stack:
        parent, slot, item = stack.pop()
        if isinstance(item, str):
            parent[slot] = _clean(item)
        elif isinstance(item, dict):
            copy: dict[Any, Any] = {}
            parent[slot] = copy
            for key, child in item.items():
                clean = _clean(key) if isinstance(key, str) else key
                copy[clean] = None
                stack.append((copy, clean, child))
        elif isinstance(item, list | tuple):
            items: list[Any] = [None] * len(item)
            parent[slot] = items
            stack.extend((items, i, child) for i, child in enumerate(item))
        else:
            parent[slot] = item
    return root[0]


def loads_storable(raw: bytes) -> Any:
    """JSON as :func:`hub.fastjson.loads` reads it, with text every database can store: a lone
    surrogate escape becomes U+FFFD (and NULs go) in what decoded. Only JSON holding such an escape
    is walked. Raises ``ValueError`` / ``RecursionError`` as ``loads`` does."""
    value = fastjson.loads(raw)
    return strip_nul(value) if _SURROGATE_ESCAPE.search(raw) else value


def strip_nul_multidict(values: MultiDict[str, str]) -> MultiDict[str, str]:
    """A form or query multi-dict with storable text (the same object when it already was)."""
    if first_nul(values.items(multi=True)) is None:
        return values
    return MultiDict([(_clean(k), _clean(v)) for k, v in values.items(multi=True)])


def loads(text: str | bytes) -> Any:
    """JSON from outside as the hub reads it: storable strings (see :func:`strip_nul`); ``ValueError``
    when it is not JSON (also when nested deeper than the decoder goes, or bytes are not UTF-8)."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        data = json.loads(text)
    except RecursionError as e:
        raise ValueError("JSON nested too deeply") from e
    return strip_nul(data) if "\\u" in text or NUL in text else data


def split_url(url: str) -> SplitResult | None:
    """``urlsplit(url)``, or ``None`` when it is no URL at all (``http://[::1`` raises ``ValueError``)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number in range)
    except ValueError:
        return None
    return parts
