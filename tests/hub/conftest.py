"""Core tests drive flows through the third-party Tracker plugin (tests/thirdparty/hub-tracker),
installed with pip like any plugin; its HTTP API is mocked at the boundary with requests-mock."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.inbound import signed  # noqa: F401 - the inbound v2 tests' fixture

TRACKER = "https://tracker.example.com"
ALL_SYNC = {"sync_status_forward": True, "sync_status_reverse": True, "sync_assignee_outbound": True,
            "sync_assignee_inbound": True, "sync_comments": True}


@pytest.fixture
def env(factories: Any) -> dict[str, Any]:
    """acme/backend with an owner, a member of the project, and a Tracker integration syncing everything."""
    s = factories.setup()
    s["member"] = factories.member(s["org"], "dev@example.com", projects=[s["project"]], name="Dev")
    s["tracker"] = factories.integration(
        s["org"],
        "tracker",
        "site-1",
        {"base_url": TRACKER, "token": "tracker-api-token", "webhook_token": "whk"},
        config=ALL_SYNC,
    )
    return s


def post_event(client: Any, headers: dict[str, str], **event: Any) -> dict[str, Any]:
    event.setdefault("message", "ZeroDivisionError: division by zero")
    r = client.post("/api/0/projects/acme/backend/events/", json=event, headers=headers)
    assert r.status_code == 201, r.json
    return r.json


def tracker_webhook(client: Any, payload: dict[str, Any], token: str = "whk") -> Any:
    return client.post("/extensions/tracker/hook/", json=payload,
                       headers={"X-Tracker-Site": "site-1", "X-Tracker-Token": token})
