"""Redis and the RQ queue, created per app (never bound at import)."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from flask import Flask, current_app
from rq import Queue
from rq.serializers import JSONSerializer

# After a failed connection, the web side stops trying for this long, so an outage costs one
# short timeout, not one per request; rows wait in the outbox meanwhile.
OUTAGE_BACKOFF_SECONDS = 5.0


class QueueState:
    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.redis = redis.Redis.from_url(
            url, socket_connect_timeout=0.5, socket_timeout=5, health_check_interval=30
        )
        self.down_until = 0.0

    def queue(self) -> Queue:
        return Queue(self.name, connection=self.redis, serializer=JSONSerializer, default_timeout=300)

    def available(self) -> bool:
        return time.monotonic() >= self.down_until

    def mark_down(self) -> None:
        self.down_until = time.monotonic() + OUTAGE_BACKOFF_SECONDS

    def mark_up(self) -> None:
        self.down_until = 0.0


def init_app(app: Flask) -> None:
    app.extensions["hub_queue"] = QueueState(app.config["HUB_REDIS_URL"], app.config["HUB_QUEUE_NAME"])


def state() -> QueueState:
    qs: QueueState = current_app.extensions["hub_queue"]
    return qs


def get_queue() -> Queue:
    return state().queue()


def get_redis() -> redis.Redis:
    return state().redis


def redis_problem() -> str | None:
    """Why this app's Redis cannot be reached: ``/healthz`` and the CLI ask this."""
    try:
        get_redis().ping()
    except redis.RedisError as e:
        return f"{type(e).__name__}: {e}".splitlines()[0][:200]
    return None


def unreachable_message(problem: str) -> str:
    """One line for the operator: which Redis (never its password), why, and how to point at another."""
    url = safe_url(current_app.config["HUB_REDIS_URL"])
    return (f"Redis at {url} cannot be reached ({problem}): start it, or set HUB_REDIS_URL to the one "
            "the web processes use (their /healthz says whether they reach it)")


def safe_url(url: str) -> str:
    """A Redis URL fit for logs and messages: the password (in the userinfo or ``?password=``) masked."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username or ''}:***@{netloc.rsplit('@', 1)[1]}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode([(k, "***" if k == "password" else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
