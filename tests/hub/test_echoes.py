"""The echo notes (hub/echoes.py): what the hub sent a ticket, coming back as a webhook, is not applied
again."""

from __future__ import annotations

from tests.support.inbound import changes, group, post
from tests.support.signed_tracker import BASE


def test_a_late_echo_ends_in_the_state_the_user_last_set(client, signed, run_jobs, requests_mock):
    requests_mock.put(f"{BASE}/tickets/APP-1/state", json={})
    url = f"/api/0/organizations/acme/issues/{signed['group_id']}/"
    assert client.put(url, json={"status": "resolved"}, headers=signed["headers"]).status_code == 200
    assert client.put(url, json={"status": "unresolved"}, headers=signed["headers"]).status_code == 200
    run_jobs()
    assert [r.json() for r in requests_mock.request_history] == [{"closed": True}, {"closed": False}]
    # the tracker's webhooks for those two changes arrive late, in order
    post(client, {"delivery": "echo-1", "key": "APP-1", "state": "closed", "updated_ms": 5000})
    run_jobs()
    assert group(signed["group_id"]).status == "unresolved"
    post(client, {"delivery": "echo-2", "key": "APP-1", "state": "open", "updated_ms": 6000})
    run_jobs()
    assert group(signed["group_id"]).status == "unresolved"
    assert [(c.state, c.reason) for c in changes()] == [("echo", "the hub's own change coming back")] * 2
    # a real change afterwards applies
    post(client, {"delivery": "real", "key": "APP-1", "state": "closed", "updated_ms": 7000})
    run_jobs()
    assert group(signed["group_id"]).status == "resolved"


def test_an_echo_that_never_came_does_not_swallow_the_tracker_s_next_change(
    client, signed, run_jobs, requests_mock
):
    """The hub reopens; its echo is lost. The tracker's user closes the ticket, then reopens it: both
    are the user's changes and both apply (the reopen is not taken for the hub's echo)."""
    requests_mock.put(f"{BASE}/tickets/APP-1/state", json={})
    post(client, {"delivery": "d1", "key": "APP-1", "state": "closed", "updated_ms": 1000})
    run_jobs()
    assert group(signed["group_id"]).status == "resolved"
    url = f"/api/0/organizations/acme/issues/{signed['group_id']}/"
    assert client.put(url, json={"status": "unresolved"}, headers=signed["headers"]).status_code == 200
    run_jobs()
    assert [r.json() for r in requests_mock.request_history] == [{"closed": False}]
    post(client, {"delivery": "d2", "key": "APP-1", "state": "closed", "updated_ms": 7000})
    run_jobs()
    assert group(signed["group_id"]).status == "resolved"
    post(client, {"delivery": "d3", "key": "APP-1", "state": "open", "updated_ms": 8000})
    run_jobs()
    assert group(signed["group_id"]).status == "unresolved"
    assert [c.state for c in changes()] == ["applied", "applied", "applied"]
    # the lost echo turning up now is older than the changes applied since: stale, nothing changes
    post(client, {"delivery": "late-echo", "key": "APP-1", "state": "open", "updated_ms": 2000})
    run_jobs()
    assert changes()[-1].state == "stale" and group(signed["group_id"]).status == "unresolved"
