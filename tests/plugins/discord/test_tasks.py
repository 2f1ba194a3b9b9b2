"""Follow-ups of an interaction: it is answered at once, and Discord's API is called only by a worker."""

from __future__ import annotations

import pytest

from tests.plugins.discord.conftest import (
    API,
    CHANNEL_ID,
    DISCORD_USER_ID,
    GUILD_ID,
    component,
    post_interaction,
)
from tests.plugins.discord.payloads import ALERT_MESSAGE_ID
from tests.support.specs import assert_valid_requests

MESSAGES_URL = f"{API}/channels/{CHANNEL_ID}/messages"
ALERT_URL = f"{MESSAGES_URL}/{ALERT_MESSAGE_ID}"
THREAD_ID = "1300000000000000001"
THREAD_URL = f"{ALERT_URL}/threads"
THREAD_MESSAGES_URL = f"{API}/channels/{THREAD_ID}/messages"


@pytest.fixture
def alerted(client, factories, run_jobs, requests_mock):
    """acme with the guild, a rule alerting CHANNEL_ID, one issue alerted there as ALERT_MESSAGE_ID,
    the owner's Discord account linked."""
    s = factories.setup()
    integration = factories.integration(s["org"], "discord", GUILD_ID, name="Acme Server")
    r = client.post("/api/0/projects/acme/backend/rules/", headers=s["headers"], json={
        "name": "Page the team", "conditions": [{"id": "every_event"}],
        "actions": [{"integrationId": str(integration.id), "channelId": CHANNEL_ID}]})
    assert r.status_code == 201, r.json
    requests_mock.post(MESSAGES_URL, json={"id": ALERT_MESSAGE_ID, "channel_id": CHANNEL_ID})
    requests_mock.post(THREAD_URL, json={"id": THREAD_ID, "name": "x", "type": 11})
    requests_mock.post(THREAD_MESSAGES_URL, json={"id": "1300000000000000009", "channel_id": THREAD_ID})
    requests_mock.patch(ALERT_URL, json={"id": ALERT_MESSAGE_ID, "channel_id": CHANNEL_ID})
    r = client.post("/api/0/projects/acme/backend/events/", headers=s["headers"],
                    json={"message": "ZeroDivisionError: division by zero"})
    assert r.status_code == 201, r.json
    run_jobs()
    assert [c.url for c in requests_mock.request_history] == [MESSAGES_URL]
    factories.identity(integration, DISCORD_USER_ID, s["owner"])
    return {**s, "integration": integration, "group_id": r.json["groupId"]}


def calls(requests_mock, method, url):
    return [r for r in requests_mock.request_history if r.method == method and r.url == url]


def status(client, s, gid):
    return client.get(f"/api/0/organizations/acme/issues/{gid}/", headers=s["headers"]).json["status"]


def test_a_dialog_choice_is_answered_at_once_and_the_alert_follows_in_a_worker(
        client, alerted, run_jobs, requests_mock):
    gid = alerted["group_id"]
    dialog = post_interaction(client, component(f"resolve_dialog:{gid}", interaction_id="1"))
    select = dialog.json["data"]["components"][0]["components"][0]
    assert select["custom_id"] == f"resolve:{gid}:{ALERT_MESSAGE_ID}"
    before = requests_mock.call_count

    r = post_interaction(client, component(select["custom_id"], ["immediately"], interaction_id="2"))
    assert r.status_code == 200
    assert r.json == {"type": 7, "data": {"content": "The issue has been resolved.", "components": []}}
    assert requests_mock.call_count == before  # no Discord API call inside the 3 seconds
    assert status(client, alerted, gid) == "resolved"  # the state change itself is synchronous

    run_jobs()
    [edit] = calls(requests_mock, "PATCH", ALERT_URL)
    assert edit.headers["Authorization"].startswith("Bot ")
    assert edit.json() == {"components": [{"type": 1, "components": [
        {"type": 2, "style": 2, "label": "Unresolve", "custom_id": f"unresolve:{gid}"},
        {"type": 2, "style": 2, "label": "Archive", "custom_id": f"archive:{gid}"},
        {"type": 2, "style": 2, "label": "Assign…", "custom_id": f"assign_dialog:{gid}"},
    ]}]}  # components only: the alert's embed is left as it is
    [reply] = calls(requests_mock, "POST", THREAD_MESSAGES_URL)
    assert reply.json()["content"].endswith("(from Discord)")
    assert assert_valid_requests("discord", requests_mock.request_history, API) == requests_mock.call_count

    # Redelivered: answered, nothing done again, no second edit.
    again = post_interaction(client, component(select["custom_id"], ["immediately"], interaction_id="2"))
    assert again.json["data"]["content"] == "This interaction was already handled."
    run_jobs()
    assert len(calls(requests_mock, "PATCH", ALERT_URL)) == 1


def test_a_button_on_the_alert_needs_no_follow_up_edit(client, alerted, run_jobs, requests_mock):
    gid = alerted["group_id"]
    before = requests_mock.call_count
    r = post_interaction(client, component(f"resolve:{gid}"))
    assert r.json["type"] == 7  # the clicked alert itself is updated by the answer
    assert requests_mock.call_count == before
    run_jobs()
    assert calls(requests_mock, "PATCH", ALERT_URL) == []
    assert len(calls(requests_mock, "POST", THREAD_MESSAGES_URL)) == 1  # the thread reply, from a worker


def test_a_deleted_alert_skips_the_edit_without_retrying(client, alerted, run_jobs, requests_mock):
    from sqlalchemy import select as sql_select

    from hub import models as m
    from hub.extensions import db

    gid = alerted["group_id"]
    requests_mock.patch(ALERT_URL, status_code=404, json={"message": "Unknown Message", "code": 10008})
    dialog = post_interaction(client, component(f"resolve_dialog:{gid}", interaction_id="1"))
    custom_id = dialog.json["data"]["components"][0]["components"][0]["custom_id"]
    r = post_interaction(client, component(custom_id, ["inNextRelease"], interaction_id="2"))
    assert r.json["data"]["content"] == "The issue will be resolved in the next release."
    run_jobs(now=True)
    db.session.expire_all()
    [task] = db.session.scalars(sql_select(m.OutboxEntry).where(m.OutboxEntry.kind == "run_task")).all()
    assert (task.status, task.payload["task"]) == ("skipped", "refresh_alert")
    assert len(calls(requests_mock, "PATCH", ALERT_URL)) == 1
    assert status(client, alerted, gid) == "resolved"


def test_a_choice_that_changes_nothing_defers_nothing(client, alerted, run_jobs, requests_mock):
    gid = alerted["group_id"]
    r = client.put(f"/api/0/organizations/acme/issues/{gid}/", json={"status": "resolved"},
                   headers=alerted["headers"])
    assert r.status_code == 200
    run_jobs()
    r = post_interaction(client, component(f"resolve:{gid}:{ALERT_MESSAGE_ID}", ["immediately"]))
    assert r.json["data"]["content"] == "The issue has been resolved."
    run_jobs()
    assert calls(requests_mock, "PATCH", ALERT_URL) == []
