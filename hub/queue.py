"""Redis and the RQ queue, created per app (never bound at import)."""

from __future__ import annotations

import time

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
        self.redis = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=5, health_check_interval=30)
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
    return current_app.extensions["hub_queue"]  # type: ignore[no-any-return]


def get_queue() -> Queue:
    return state().queue()


def get_redis() -> redis.Redis:
    return state().redis
