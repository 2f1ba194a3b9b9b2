"""Structured logs: one JSON object per line, with the request's bound context on every line.

``bind(organization=..., integration=...)`` once per request or job (Sentry's "bind org
context"); every record logged afterwards in that context carries it. Secret-looking fields
are redacted, whatever a caller passes in ``extra``.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("hub_log_context")

SECRET_WORDS = (
    "secret",
    "token",
    "password",
    "authorization",
    "signature",
    "private_key",
    "cookie",
    "api_key",
)
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def bind(**values: Any) -> None:
    """Add values to the current context (request or job)."""
    _context.set({**_context.get({}), **{k: v for k, v in values.items() if v is not None}})


def clear() -> None:
    _context.set({})


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    token = _context.set({**_context.get({}), **{k: v for k, v in values.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def context() -> dict[str, Any]:
    return dict(_context.get({}))


def redact(value: Any, key: str = "") -> Any:
    if key and any(word in key.lower() for word in SECRET_WORDS):
        return "[redacted]"
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        out.update(_context.get({}))
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(redact(out), default=str)


class _HubHandler(logging.StreamHandler[TextIO]):
    """The handler :func:`configure` adds (``_hub`` marks it, so a second call adds none)."""

    _hub = True


class CurrentStderr(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a record is emitted (``alembic.ini`` names it).

    A plain ``StreamHandler(sys.stderr)`` made inside ``hub db upgrade`` run by a CLI runner keeps
    the runner's stream, closed once the command returns: every later record would fail to write.
    """

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """``StreamHandler.__init__`` and ``setStream`` assign it; the current stderr wins."""


def configure(level: str = "INFO", json_lines: bool = True) -> None:
    """Send the ``hub`` and ``plugins`` loggers to stderr as JSON lines (idempotent)."""
    for name in ("hub", "plugins"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(getattr(h, "_hub", False) for h in logger.handlers):
            # The process's own stderr: not whatever stream sys.stderr is while the app is made (a CLI
            # runner's, closed after it returns: every later line would fail)
            handler = _HubHandler(sys.__stderr__ or sys.stderr)
            handler.setFormatter(
                JsonFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s %(message)s")
            )
            logger.addHandler(handler)
            logger.propagate = True
