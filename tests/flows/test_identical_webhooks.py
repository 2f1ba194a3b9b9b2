"""The dedupe key is claimed before any effect: 32 identical Jira Server webhooks at once against a real
gunicorn, and the same delivery a week later, act once (the claim's unit tests: tests/hub/test_webhooks.py).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from hub import models as m
from hub.extensions import db
from plugins.jira_server.verify import webhook_token
from tests.plugins.jira_server.payloads import ASSIGNEE_EMAIL, issue_assigned
from tests.support.live import at_once, gunicorn


def _claims() -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(m.WebhookClaim)) or 0)


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
