"""JSON text of a stored SDK event: orjson where it writes the same values, the standard library otherwise.

A typical event is 20 KB of JSON once normalized; ``json.dumps`` takes about a fifth of a millisecond
for it (a tenth of the request's own work), orjson a tenth of that. Parsing is msgspec's (:func:`loads`,
under half of ``json.loads``'s time; orjson would read integers over 64 bits as floats, which would
change the event; msgspec reads them exactly). For writing, orjson
refuses what it cannot write exactly (integers over 64 bits, lone surrogates, non-string keys), and
those events are written by ``json.dumps`` as before. The one difference: a non-finite float (only a
``NaN`` or ``Infinity`` literal in the SDK's JSON makes one; Relay refuses such JSON) is stored as
``null``, valid JSON that PostgreSQL's ``jsonb`` accepts, where ``json.dumps`` wrote ``NaN`` (it still
does in an event that also holds what orjson cannot write).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import orjson


def dumps(value: Any) -> str:
    """Compact JSON text of a value made of JSON types (what a JSON column stores)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError included
        return json.dumps(value)


def loads(text: bytes | str) -> Any:
    """``json.loads``, faster: msgspec reads what it can (the same values: integers of any size,
    exact floats, the last of repeated keys); what it refuses and the standard library reads
    (``NaN``, a lone surrogate escape, a number beyond a float's range, UTF-16 text) is read by
    ``json.loads``, whose ``ValueError`` a caller gets for JSON neither reads. Too deep nesting
    raises ``RecursionError`` from both."""
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)
