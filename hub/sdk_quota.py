"""SDK rate limits and outcome counters, in Redis (shared by every web process).

A key's own ``rateLimit`` (count per window seconds) wins; otherwise ``HUB_SDK_RATE_LIMIT`` events per
minute per project. Fixed windows: one ``INCR`` per event. Redis down: events are let through (losing
errors is worse than a burst), and counters are skipped; after a failure the web process leaves Redis
alone for a few seconds (the outbox's backoff, :mod:`hub.queue`), so an outage costs no event a timeout.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol, cast

import redis
from flask import current_app

from hub.queue import get_redis, state

logger = logging.getLogger("hub.sdk")


class KeyLimits(Protocol):
    """What a limit is computed from: a :class:`~hub.models.ProjectKey` or the SDK's key lookup row."""

    @property
    def id(self) -> int: ...

    @property
    def project_id(self) -> int: ...

    @property
    def public_key(self) -> str: ...

    @property
    def rate_limit_window(self) -> int | None: ...

    @property
    def rate_limit_count(self) -> int | None: ...


@dataclass
class Limited:
    retry_after: int
    scope: str  # "key" or "project", as Sentry names them in X-Sentry-Rate-Limits


def limit_for(key: KeyLimits) -> tuple[int, int, str] | None:
    """(count, window seconds, scope) that applies to a key, or ``None`` for no limit."""
    if key.rate_limit_count and key.rate_limit_window:
        return key.rate_limit_count, key.rate_limit_window, "key"
    per_minute = int(current_app.config.get("HUB_SDK_RATE_LIMIT") or 0)
    return (per_minute, 60, "project") if per_minute > 0 else None


def take(key: KeyLimits, events: int = 1) -> Limited | None:
    """Count ``events`` against the key's limit; a :class:`Limited` when over (nothing counted then)."""
    limit = limit_for(key)
    if limit is None or events <= 0:
        return None
    count, window, scope = limit
    now = int(time.time())
    start = now - now % window
    name = _counter(key, scope, window, start)
    if not state().available():
        return None
    try:
        r = get_redis()
        used = r.incrby(name, events)
        if used == events:
            r.expire(name, window + 5)
        if used > count:
            r.decrby(name, events)
            return Limited(retry_after=max(1, start + window - now), scope=scope)
    except redis.RedisError:
        state().mark_down()
        logger.warning("sdk.rate-limit-unavailable")
    return None


def give_back(key: KeyLimits, events: int = 1) -> None:
    """Uncount ``events`` that :func:`take` counted but that were refused (a malformed event): a
    refused request must not use up the quota. Never raises."""
    limit = limit_for(key)
    if limit is None or events <= 0 or not state().available():
        return
    _, window, scope = limit
    now = int(time.time())
    name = _counter(key, scope, window, now - now % window)
    try:
        r = get_redis()
        if r.exists(name):  # not when the window turned meanwhile: the new one never counted them
            r.decrby(name, events)
    except redis.RedisError:
        state().mark_down()


def _counter(key: KeyLimits, scope: str, window: int, start: int) -> str:
    """A key's counter is named by its public key, never reused (SQLite gives a new key the id of
    the last one deleted, which would inherit its count)."""
    return f"hub:sdk:rl:{scope}:{key.public_key if scope == 'key' else key.project_id}:{window}:{start}"


def count_outcome(project_id: int, category: str, outcome: str, quantity: int = 1) -> None:
    """Count what was accepted or dropped per project (``hub:sdk:outcomes:{project}`` hash)."""
    if not state().available():
        return
    try:
        get_redis().hincrby(f"hub:sdk:outcomes:{project_id}", f"{outcome}:{category}", quantity)
    except redis.RedisError:
        state().mark_down()


def outcomes(project_id: int) -> dict[str, int]:
    try:
        # The hub's client is made without decode_responses: fields come back as bytes.
        raw = cast("dict[bytes, bytes]", get_redis().hgetall(f"hub:sdk:outcomes:{project_id}"))
    except redis.RedisError:
        return {}
    return {k.decode(): int(v) for k, v in raw.items()}
