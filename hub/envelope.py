"""Sentry envelopes parsed in one pass: a header line, then items (a header line and a payload).

Linear in the body size: every item is found with one ``find`` from the current offset, nothing is
re-joined or re-split. A payload's explicit ``length`` must land exactly on a newline or the end, so a
length that lies in either direction is refused instead of read as the next item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub import inputs

MAX_ITEMS = 1000  # Relay takes far fewer per envelope in practice; 10,000 empty items is an attack


class EnvelopeError(ValueError):
    """The envelope is malformed: a 400 naming what is wrong."""


@dataclass
class Item:
    headers: dict[str, Any]
    payload: bytes

    @property
    def type(self) -> str:
        value = self.headers.get("type")
        return value if isinstance(value, str) else ""


@dataclass
class Envelope:
    headers: dict[str, Any]
    items: list[Item] = field(default_factory=list)


def parse_header(body: bytes) -> dict[str, Any]:
    """Only the envelope's first line (what authentication by its ``dsn`` needs)."""
    end = body.find(b"\n")
    return _json_object(body[: end if end >= 0 else len(body)], "the envelope header")


def parse(body: bytes, max_items: int = MAX_ITEMS) -> Envelope:
    size = len(body)
    end = body.find(b"\n")
    end = size if end < 0 else end
    envelope = Envelope(_json_object(body[:end], "the envelope header"))
    pos = min(end + 1, size)
    while pos < size:
        end = body.find(b"\n", pos)
        end = size if end < 0 else end
        line = body[pos:end]
        pos = min(end + 1, size)
        if not line.strip():
            continue  # blank lines between items (a trailing newline after a payload)
        headers = _json_object(line, f"item header {len(envelope.items) + 1}")
        length = headers.get("length")
        if length is None:
            end = body.find(b"\n", pos)
            end = size if end < 0 else end
            payload = body[pos:end]
            pos = min(end + 1, size)
        else:
            if not isinstance(length, int) or isinstance(length, bool) or length < 0:
                raise EnvelopeError(f"item {len(envelope.items) + 1}: length is not a non-negative integer")
            if pos + length > size:
                raise EnvelopeError(f"item {len(envelope.items) + 1}: length {length} runs past the end")
            payload = body[pos : pos + length]
            pos += length
            if pos < size:
                if body[pos : pos + 1] != b"\n":
                    raise EnvelopeError(f"item {len(envelope.items) + 1}: payload is longer than its length")
                pos += 1
        envelope.items.append(Item(headers, payload))
        if len(envelope.items) > max_items:
            raise EnvelopeError(f"more than {max_items} items")
    return envelope


def _json_object(line: bytes, what: str) -> dict[str, Any]:
    if not line.strip():
        return {}
    try:
        value = inputs.loads_storable(line)
    except (ValueError, RecursionError) as e:
        raise EnvelopeError(f"{what} is not JSON") from e
    if not isinstance(value, dict):
        raise EnvelopeError(f"{what} is not a JSON object")
    return value
