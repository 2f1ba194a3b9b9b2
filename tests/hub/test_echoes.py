"""The echo notes (hub/echoes.py): what the hub sent a ticket, coming back as a webhook, is not applied
again."""

from __future__ import annotations

from typing import Any

from tests.support.inbound import changes, group, post
from tests.support.signed_tracker import BASE


def tracker_sets(client: Any, run_jobs: Any, signed: dict[str, Any], delivery: str, state: str,
                 ms: int) -> str:
    """The tracker's webhook: APP-1 is now ``state`` (at ``ms``), applied by the worker; the issue's
    status after it."""
    post(client, {"delivery": delivery, "key": "APP-1", "state": state, "updated_ms": ms})
    run_jobs()
    return group(signed["group_id"]).status


def test_a_late_echo_ends_in_the_state_the_user_last_set(client, signed, run_jobs, requests_mock):
    requests_mock.put(f"{BASE}/tickets/APP-1/state", json={})
    url = f"/api/0/organizations/acme/issues/{signed['group_id']}/"
    assert client.put(url, json={"status": "resolved"}, headers=signed["headers"]).status_code == 200
    assert client.put(url, json={"status": "unresolved"}, headers=signed["headers"]).status_code == 200
    run_jobs()
    assert [r.json() for r in requests_mock.request_history] == [{"closed": True}, {"closed": False}]
    # the tracker's webhooks for those two changes arrive late, in order
    assert tracker_sets(client, run_jobs, signed, "echo-1", "closed", 5000) == "unresolved"
    assert tracker_sets(client, run_jobs, signed, "echo-2", "open", 6000) == "unresolved"
    assert [(c.state, c.reason) for c in changes()] == [("echo", "the hub's own change coming back")] * 2
    # a real change afterwards applies
    assert tracker_sets(client, run_jobs, signed, "real", "closed", 7000) == "resolved"


def test_an_echo_that_never_came_does_not_swallow_the_tracker_s_next_change(
    client, signed, run_jobs, requests_mock
):
    """The hub reopens; its echo is lost. The tracker's user closes the ticket, then reopens it: both
    are the user's changes and both apply (the reopen is not taken for the hub's echo)."""
    requests_mock.put(f"{BASE}/tickets/APP-1/state", json={})
    assert tracker_sets(client, run_jobs, signed, "d1", "closed", 1000) == "resolved"
    url = f"/api/0/organizations/acme/issues/{signed['group_id']}/"
    assert client.put(url, json={"status": "unresolved"}, headers=signed["headers"]).status_code == 200
    run_jobs()
    assert [r.json() for r in requests_mock.request_history] == [{"closed": False}]
    assert tracker_sets(client, run_jobs, signed, "d2", "closed", 7000) == "resolved"
    assert tracker_sets(client, run_jobs, signed, "d3", "open", 8000) == "unresolved"
    assert [c.state for c in changes()] == ["applied", "applied", "applied"]
    # the lost echo turning up now is older than the changes applied since: stale, nothing changes
    assert tracker_sets(client, run_jobs, signed, "late-echo", "open", 2000) == "unresolved"
    assert changes()[-1].state == "stale"
