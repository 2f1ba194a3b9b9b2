"""The inbound v2 tests' setup: the plugin written from the docs (tests/support/signed_tracker.py) registered,
its integration syncing everything, one issue linked to its ticket APP-1; signed deliveries; reading back.

``signed`` is a pytest fixture (tests/hub/conftest.py makes it available to the core tests).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from hub import models as m
from hub.extensions import db
from tests.support import signed_tracker
from tests.support.signed_tracker import deliver

SECRET = "s3cret-signing-key"
SYNC = {"sync_status_forward": True, "sync_status_reverse": True, "sync_assignee_outbound": True,
        "sync_assignee_inbound": True, "sync_comments": True}


@pytest.fixture
def signed(app: Any, env: dict[str, Any], factories: Any, register_plugin: Any) -> dict[str, Any]:
    register_plugin(signed_tracker)
    integration = factories.integration(env["org"], "signed", "site-a", {"secret": SECRET}, config=SYNC)
    group = factories.group(env["project"])
    factories.link(group, integration, "APP-1")
    db.session.commit()
    return {**env, "signed": integration, "group_id": group.id}


def post(client: Any, payload: dict[str, Any], site: str = "site-a", secret: str = SECRET) -> Any:
    return deliver(client.post, site, secret, payload)


def group(group_id: int) -> m.Group:
    db.session.expire_all()
    row = db.session.get(m.Group, group_id)
    assert row is not None
    return row


def changes() -> list[m.InboundChange]:
    db.session.expire_all()
    return list(db.session.scalars(select(m.InboundChange).order_by(m.InboundChange.id)))


def count(model: Any, *where: Any) -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
