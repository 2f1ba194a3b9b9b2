"""Inbound v2 with real processes: gunicorn (-w 2 --threads 4) acknowledging, ``hub worker`` applying.

32 identical deliveries at once; a redelivery after a restart; Redis down during a burst; a worker
SIGKILLed in the middle of applying a change. On the test database (SQLite file, or PostgreSQL).
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, func, select, text

from hub import models as m
from hub.extensions import db
from tests.support import signed_tracker
from tests.support.live import at_once, free_port, gunicorn, hub_env, hub_worker

SECRET = "s3cret-signing-key"
PLUGIN = {"HUB_PLUGINS": "tests.support.signed_tracker"}
SYNC = {"sync_status_reverse": True, "sync_assignee_inbound": True}


@pytest.fixture
def linked(app: Any, env: dict[str, Any], factories: Any, register_plugin: Any) -> dict[str, Any]:
    register_plugin(signed_tracker)
    integration = factories.integration(env["org"], "signed", "site-a", {"secret": SECRET}, config=SYNC)
    group = factories.group(env["project"])
    factories.link(group, integration, "APP-1")
    db.session.commit()
    group_id = group.id
    db.session.remove()
    return {**env, "group_id": group_id}


def _post(base: str, payload: dict[str, Any]) -> requests.Response:
    return signed_tracker.deliver(requests.post, "site-a", SECRET, payload, base=base, timeout=60)


def _count(model: Any, *where: Any) -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _status(group_id: int) -> str:
    db.session.expire_all()
    return db.session.get(m.Group, group_id).status


def _work(hub_database_url: str, hub_redis_url: str, tmp_path: Any) -> None:
    proc = hub_worker(hub_env(hub_database_url, hub_redis_url, str(tmp_path / "worker"), **PLUGIN), "--burst",
                      log=tmp_path / "worker.log")
    assert proc.wait(120) == 0, (tmp_path / "worker.log").read_text()[-2000:]


def test_32_identical_deliveries_at_once_have_one_effect(linked, hub_database_url, hub_redis_url, tmp_path):
    payload = {"delivery": "same", "key": "APP-1", "state": "closed", "updated_ms": 1000}
    with gunicorn(hub_database_url, hub_redis_url, str(tmp_path / "web"), extra_env=PLUGIN) as url:
        responses = at_once(32, lambda: _post(url, payload))
    assert Counter(r.status_code for r in responses) == {200: 32}, [r.text for r in responses][:3]
    assert sum(r.json()["detail"] == "accepted" for r in responses) == 1
    assert _count(m.InboundChange) == 1 and _count(m.WebhookClaim) == 1
    _work(hub_database_url, hub_redis_url, tmp_path)
    assert _status(linked["group_id"]) == "resolved"
    assert _count(m.Activity, m.Activity.type == "set_resolved") == 1


def test_a_redelivery_after_a_restart_has_no_second_effect(linked, hub_database_url, hub_redis_url, tmp_path):
    payload = {"delivery": "d-restart", "key": "APP-1", "state": "closed", "updated_ms": 1000}
    with gunicorn(hub_database_url, hub_redis_url, str(tmp_path / "web1"), extra_env=PLUGIN) as url:
        assert _post(url, payload).json() == {"detail": "accepted"}
    with gunicorn(hub_database_url, hub_redis_url, str(tmp_path / "web2"), extra_env=PLUGIN) as url:
        assert _post(url, payload).json()["detail"] == "Already processed."
    _work(hub_database_url, hub_redis_url, tmp_path)
    assert _count(m.InboundChange) == 1
    assert _count(m.Activity, m.Activity.type == "set_resolved") == 1


def test_acks_continue_with_redis_down_and_nothing_is_lost(linked, hub_database_url, hub_redis_url, tmp_path):
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    with gunicorn(hub_database_url, dead_redis, str(tmp_path / "web"), extra_env=PLUGIN) as url:
        started = time.monotonic()
        responses = [_post(url, {"delivery": f"d{i}", "key": "APP-1", "state": "closed" if i % 2 else "open",
                                 "updated_ms": 1000 + i}) for i in range(40)]
        elapsed = time.monotonic() - started
    assert [r.status_code for r in responses] == [200] * 40, responses[0].text
    assert elapsed < 60  # an outage costs one short connect timeout, not one per request
    assert _count(m.InboundChange, m.InboundChange.state == "pending") == 40
    _work(hub_database_url, hub_redis_url, tmp_path)  # Redis back: a worker applies everything
    assert _count(m.InboundChange, m.InboundChange.state == "pending") == 0
    assert _status(linked["group_id"]) == "resolved"  # the last event (i = 39) closed it


def test_a_worker_killed_mid_apply_leaves_the_change_to_be_applied_once(
    linked, hub_database_url, hub_redis_url, tmp_path, client
):
    r = signed_tracker.deliver(client.post, "site-a", SECRET,
                               {"delivery": "k1", "key": "APP-1", "state": "closed", "updated_ms": 1})
    assert r.status_code == 200
    change_id = db.session.scalar(select(m.InboundChange.id))
    db.session.remove()
    blocker = create_engine(hub_database_url)
    with blocker.connect() as conn:
        if blocker.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the worker's apply transaction waits for the write lock
        else:
            conn.execute(text("BEGIN"))
            conn.execute(text("SELECT id FROM inbound_changes WHERE id = :id FOR UPDATE"), {"id": change_id})
        log = tmp_path / "killed.log"
        worker = hub_worker(hub_env(hub_database_url, hub_redis_url, str(tmp_path / "w1"), **PLUGIN), log=log)
        time.sleep(4)  # started, and inside apply_one, blocked on the row
        assert worker.poll() is None, log.read_text()[-2000:]
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        conn.rollback()
    blocker.dispose()
    assert _count(m.InboundChange, m.InboundChange.state == "pending") == 1
    assert _count(m.Activity, m.Activity.type == "set_resolved") == 0
    _work(hub_database_url, hub_redis_url, tmp_path)
    assert _status(linked["group_id"]) == "resolved"
    assert _count(m.Activity, m.Activity.type == "set_resolved") == 1
    _work(hub_database_url, hub_redis_url, tmp_path)
    assert _count(m.Activity, m.Activity.type == "set_resolved") == 1
