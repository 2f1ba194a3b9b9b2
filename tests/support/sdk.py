"""Helpers shared by the tests of the SDK door (tests/hub/test_ingest.py, test_decompress.py,
test_envelope.py, test_normalize.py, tests/flows/test_sdk_ingest_processes.py): a project's DSN key,
envelopes built item by item, posting one, reading back what was stored.
"""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

from sqlalchemy import func, select

from hub import models as m
from hub.extensions import db

MiB = 1024 * 1024


def _dsn_key(client, env) -> str:
    return client.get("/api/0/projects/acme/backend/keys/", headers=env["headers"]).json[0]["public"]


def _key(env) -> str:
    return db.session.scalar(
        select(m.ProjectKey.public_key).where(m.ProjectKey.project_id == env["project"].id)
    )


def _count(model: Any, *where: Any) -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _envelope(*items: tuple[dict, bytes], header: dict | None = None) -> bytes:
    out = [json.dumps(header or {}).encode()]
    for item_header, payload in items:
        out += [json.dumps({**item_header, "length": len(payload)}).encode(), payload]
    return b"\n".join(out) + b"\n"


def _event_item(event: dict) -> tuple[dict, bytes]:
    return {"type": "event"}, json.dumps(event).encode()


def _post(client, env, body: bytes, headers: dict | None = None, query: str | None = None):
    q = f"?sentry_key={_key(env)}" if query is None else query
    return client.post(f"/api/{env['project'].id}/envelope/{q}", data=body, headers=headers or {})


def _stored_event():
    db.session.expire_all()
    return db.session.scalar(select(m.Event))


def public_key(project: Any) -> str:
    return db.session.scalar(select(m.ProjectKey.public_key).where(m.ProjectKey.project_id == project.id))


def gzip_envelope(event_body: dict[str, Any]) -> bytes:
    """One event in a gzipped envelope, as the SDKs send it."""
    payload = json.dumps(event_body).encode()
    header = json.dumps({"event_id": event_body.get("event_id")}).encode()
    return gzip.compress(header + b"\n" + json.dumps({"type": "event", "length": len(payload)}).encode()
                         + b"\n" + payload + b"\n")


def sdk_event(value: str = "boom", **extra: Any) -> dict[str, Any]:
    frames = [{"module": "shop.views", "function": "checkout", "lineno": 10, "in_app": True}]
    return {"event_id": uuid.uuid4().hex, "release": "shop@1.0", "environment": "production",
            "exception": {"values": [{"type": "KeyError", "value": value, "stacktrace": {"frames": frames}}]},
            **extra}


def project_key(project: Any) -> m.ProjectKey:
    """The project's first client key (the row)."""
    return db.session.scalar(
        select(m.ProjectKey).where(m.ProjectKey.project_id == project.id).order_by(m.ProjectKey.id)
    )


def store_event(client: Any, env: dict[str, Any], event: dict[str, Any], key: str | None = None,
                headers: dict[str, str] | None = None) -> Any:
    """POST one event to the store endpoint with the project's key (or the one given)."""
    key = key or project_key(env["project"]).public_key
    return client.post(f"/api/{env['project'].id}/store/?sentry_key={key}", json=event, headers=headers or {})


def all_groups() -> list[m.Group]:
    db.session.expire_all()
    return list(db.session.scalars(select(m.Group).order_by(m.Group.id)))
