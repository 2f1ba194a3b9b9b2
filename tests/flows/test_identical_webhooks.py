"""The dedupe key is claimed before any effect: identical deliveries, at once or a week later, act once.

A delivery that fails gives its key back, so the provider's redelivery is handled again.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from hub import WebhookResponse, hookimpl
from hub import models as m
from hub.extensions import db
from plugins.jira_server.webhooks import webhook_token
from tests.plugins.jira_server.payloads import ASSIGNEE_EMAIL, issue_assigned
from tests.support.live import at_once, gunicorn


class Flaky:
    """Claims the body, then fails as told (raise, 503, retry=True), else counts one effect."""

    name = "flaky"

    def __init__(self) -> None:
        self.fail: list[str] = []
        self.effects = 0

    @hookimpl
    def provider_info(self) -> dict[str, Any]:
        return {"key": "flaky", "name": "Flaky", "features": []}

    @hookimpl
    def on_webhook(self, provider: str, endpoint: str, request: Any) -> WebhookResponse | None:
        if provider != "flaky":
            return None
        if request.already_processed():
            return WebhookResponse(status=200, json={"duplicate": True})
        how = self.fail.pop(0) if self.fail else ""
        if how == "raise":
            raise RuntimeError("flaky handler")
        if how == "503":
            return WebhookResponse(status=503, json={"detail": "later"})
        if how == "retry":
            return WebhookResponse(status=200, json={"detail": "not processed"}, retry=True)
        self.effects += 1
        return WebhookResponse(status=200, json={"ok": True})


def _claims() -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(m.WebhookClaim)) or 0)


@pytest.mark.parametrize("how", ["raise", "503", "retry"])
def test_a_failed_delivery_gives_its_key_back(client, register_plugin, how):
    plugin = Flaky()
    register_plugin(plugin)
    plugin.fail = [how]

    first = client.post("/extensions/flaky/hook/", data=b'{"n": 1}')
    assert first.status_code == {"raise": 500, "503": 503, "retry": 200}[how]
    assert _claims() == 0
    failed = db.session.scalar(select(m.WebhookDelivery).order_by(m.WebhookDelivery.id))
    if how == "raise":
        assert failed.outcome == "error" and "flaky handler" in failed.error

    again = client.post("/extensions/flaky/hook/", data=b'{"n": 1}')
    assert again.status_code == 200 and again.json == {"ok": True}
    assert plugin.effects == 1 and _claims() == 1

    later = client.post("/extensions/flaky/hook/", data=b'{"n": 1}')
    assert later.status_code == 200 and later.json == {"duplicate": True}
    assert plugin.effects == 1
    outcomes = db.session.scalars(select(m.WebhookDelivery.outcome).order_by(m.WebhookDelivery.id)).all()
    assert outcomes[1:] == ["processed", "duplicate"]


def test_a_processed_delivery_keeps_its_key_even_when_the_plugin_names_its_outcome(client, register_plugin):
    class Named(Flaky):
        @hookimpl
        def on_webhook(self, provider: str, endpoint: str, request: Any) -> WebhookResponse | None:
            if provider != "flaky":
                return None
            if request.already_processed():
                return WebhookResponse(status=200, json={"duplicate": True})
            self.effects += 1
            return WebhookResponse(status=200, json={"ok": True}, outcome="closed")

    plugin = Named()
    register_plugin(plugin)
    for _ in range(3):
        assert client.post("/extensions/flaky/hook/", data=b"{}").status_code == 200
    assert plugin.effects == 1


SECRET = "jira-server-webhook-secret-for-the-claims-test"
EXTERNAL_ID = "jira.example.org:hub-consumer"


@pytest.fixture
def jira_server(factories: Any) -> dict[str, Any]:
    s = factories.setup()
    factories.member(s["org"], ASSIGNEE_EMAIL, projects=[s["project"]], name="Priya")
    integration = factories.integration(
        s["org"], "jira_server", EXTERNAL_ID,
        {"base_url": "https://jira.example.org", "webhook_secret": SECRET},
        config={"sync_assignee_inbound": True, "sync_status_reverse": True})
    group = factories.group(s["project"])
    factories.link(group, integration, "APP-1")
    path = f"/extensions/jira_server/issue-updated/{webhook_token(EXTERNAL_ID, SECRET)}/"
    return {**s, "group_id": group.id, "path": path}


def test_32_identical_jira_server_webhooks_at_once_act_once_and_a_redelivery_later_not_at_all(
        app, jira_server, hub_database_url, hub_redis_url, tmp_path, run_jobs):
    s = jira_server
    body = json.dumps(issue_assigned())
    headers = {"Content-Type": "application/json"}
    db.session.commit()
    db.session.remove()
    with gunicorn(hub_database_url, hub_redis_url, str(tmp_path / "live")) as url:
        post = lambda: requests.post(url + s["path"], data=body, headers=headers, timeout=60)  # noqa: E731
        responses = at_once(32, post)
        assert Counter(r.status_code for r in responses) == {200: 32}, [r.text for r in responses][:3]
        run_jobs()  # the worker applies the one recorded delivery
        issue = f"/api/0/organizations/acme/issues/{s['group_id']}/"
        assert requests.get(url + issue, headers=s["headers"], timeout=30).json()["assignedTo"]["email"] == \
            ASSIGNEE_EMAIL
        assert requests.put(url + issue, json={"assignedTo": None}, headers=s["headers"], timeout=30).ok

    with gunicorn(hub_database_url, hub_redis_url, str(tmp_path / "live")) as url:  # a restart, days later
        redelivery = requests.post(url + s["path"], data=body, headers=headers, timeout=30)
        assert redelivery.status_code == 200
        run_jobs()
        shown = requests.get(url + issue, headers=s["headers"], timeout=30).json()
        assert shown["assignedTo"] is None

    db.session.expire_all()
    assigned = db.session.scalar(select(func.count()).select_from(m.Activity).where(
        m.Activity.group_id == s["group_id"], m.Activity.type == "assigned"))
    assert assigned == 1
    outcomes = Counter(db.session.scalars(select(m.WebhookDelivery.outcome).where(
        m.WebhookDelivery.provider == "jira_server")))
    assert outcomes == {"received": 1, "duplicate": 32}  # the one recorded, its change applied once
    changes = db.session.scalars(select(m.InboundChange.state)).all()
    assert changes == ["applied"]
    assert _claims() == 1
