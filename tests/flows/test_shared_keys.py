"""Web and worker share their keys or refuse to start, with real processes.

The README's production setup: gunicorn in a checkout (it imports ``hub`` from the checkout) and the
``hub`` command of the virtualenv (it imports the installed copy, here a copy of the package on
PYTHONPATH, run from another directory). Each test gets a virtualenv of its own (``--without-pip``,
on top of the test one), so the default instance folder ``<venv>/var/hub-instance`` is private.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import site
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet

CHECKOUT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Tracker:
    """A tiny Tracker API on loopback: records every request, answers like the real one."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        tracker = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                tracker.requests.append((self.command, self.path, body))
                answer = {"key": "TR-1", "title": "Crash", "url": "https://t/TR-1", "state": "open"}
                data = json.dumps(answer if self.command == "GET" else {}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def puts(self) -> list[tuple[str, Any]]:
        return [(path, body) for method, path, body in self.requests if method == "PUT"]


class Installation:
    """A virtualenv, the checkout's gunicorn and the installed copy's ``hub`` command."""

    def __init__(self, tmp_path: Path, redis_url: str) -> None:
        self.venv = tmp_path / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(self.venv)], check=True,
                       timeout=60)
        [venv_site] = self.venv.glob("lib/python*/site-packages")
        # The test environment's packages (the hub's dependencies, the tracker plugin), with their .pth files.
        (venv_site / "test-environment.pth").write_text(
            "".join(f"import site; site.addsitedir({p!r})\n" for p in site.getsitepackages()))
        self.python = str(self.venv / "bin" / "python")
        self.installed = tmp_path / "installed"
        for package in ("hub", "plugins"):
            shutil.copytree(CHECKOUT / package, self.installed / package,
                            ignore=shutil.ignore_patterns("__pycache__"))
        self.elsewhere = tmp_path / "elsewhere"
        self.elsewhere.mkdir()
        self.instance = self.venv / "var" / "hub-instance"
        self.environ = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        self.environ.update(HUB_REDIS_URL=redis_url, HUB_QUEUE_NAME=f"keys-{os.getpid()}-{tmp_path.name}",
                            HUB_LOG_JSON="0", HUB_OUTBOX_BACKOFF_BASE="60")
        self.processes: list[subprocess.Popen[str]] = []

    def hub(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """``hub ARGS`` as the installed command: the installed copy, from another directory."""
        return subprocess.run(self._hub_command(*args), env=self._env(env, installed=True),
                              cwd=self.elsewhere, capture_output=True, text=True, timeout=120)

    def start_worker(self, **env: str) -> subprocess.Popen[str]:
        return self._start(self._hub_command("worker", "--poll", "0.1"), self._env(env, installed=True),
                           self.elsewhere)

    def start_gunicorn(self, port: int, **env: str) -> subprocess.Popen[str]:
        return self._start([self.python, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "wsgi:app"],
                           self._env(env, installed=False), CHECKOUT)

    def stop_all(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.processes:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def _hub_command(self, *args: str) -> list[str]:
        return [self.python, "-c", "from hub.cli import main; main()", *args]

    def _env(self, extra: dict[str, str], installed: bool) -> dict[str, str]:
        env = {**self.environ, **extra}
        if installed:
            env["PYTHONPATH"] = str(self.installed)
        return env

    def _start(self, command: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        self.processes.append(proc)
        return proc


@pytest.fixture
def installation(tmp_path: Path, hub_redis_url: str) -> Any:
    inst = Installation(tmp_path, hub_redis_url)
    yield inst
    inst.stop_all()


def _wait_for_web(base: str, proc: subprocess.Popen[str]) -> None:
    for _ in range(150):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            requests.get(f"{base}/healthz", timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):  # the worker may still be booting
            time.sleep(0.2)
    raise AssertionError("gunicorn did not answer")


def _resolve_a_linked_issue(base: str, demo: dict[str, Any], tracker: Tracker) -> str:
    """Install Tracker, link an issue to TR-1 and resolve it: one outbound sync waits in the outbox."""
    h = {"Authorization": f"Bearer {demo['token']}"}
    api = f"{base}/api/0/organizations/demo"
    r = requests.post(f"{api}/integrations/", headers=h, timeout=10, json={
        "provider": "tracker", "externalId": "site-1", "metadata": {"base_url": tracker.url, "token": "t"}})
    assert r.status_code == 201, r.text
    integration = r.json()["id"]
    r = requests.put(f"{api}/integrations/{integration}/", headers=h, timeout=10,
                     json={"config": {"sync_status_forward": True}})
    assert r.status_code == 200, r.text
    r = requests.post(f"{base}/api/0/projects/demo/backend/events/", headers=h, timeout=10,
                      json={"message": "ZeroDivisionError: division by zero"})
    assert r.status_code == 201, r.text
    group = r.json()["groupId"]
    r = requests.post(f"{api}/issues/{group}/external-issues/", headers=h, timeout=10,
                      json={"integrationId": integration, "action": "link", "externalIssue": "TR-1"})
    assert r.status_code == 201, r.text
    r = requests.put(f"{api}/issues/{group}/", headers=h, timeout=10, json={"status": "resolved"})
    assert r.status_code == 200, r.text
    return group


def test_gunicorn_in_the_checkout_and_the_installed_worker_share_generated_keys(installation):
    """No keys set anywhere: both processes use <venv>/var/hub-instance, and the worker delivers the sync."""
    imported = subprocess.run([installation.python, "-c", "import hub; print(hub.__file__)"],
                              env=installation._env({}, installed=True), cwd=installation.elsewhere,
                              capture_output=True, text=True, timeout=60)
    assert imported.stdout.startswith(str(installation.installed))  # another copy than gunicorn's
    tracker = Tracker()
    boot = installation.hub("bootstrap", "--org", "demo", "--project", "backend", "--email", "o@example.com")
    assert boot.returncode == 0, boot.stderr
    demo = json.loads(boot.stdout.strip().splitlines()[-1])
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    web = installation.start_gunicorn(port)
    _wait_for_web(base, web)
    _resolve_a_linked_issue(base, demo, tracker)
    installation.start_worker()
    deadline = time.monotonic() + 60
    while not tracker.puts() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert tracker.puts() == [("/issues/TR-1/state", {"state": "closed"})]
    assert sorted(p.name for p in installation.instance.iterdir() if not p.name.startswith("hub.sqlite")) == [
        "encryption_key", "secret_key"]
    outbox = installation.hub("outbox")
    assert outbox.returncode == 0 and "pending" not in outbox.stdout and "failed" not in outbox.stdout


def test_a_process_with_other_keys_refuses_to_start_and_attempts_no_job(installation):
    tracker = Tracker()
    keys = {"HUB_ENCRYPTION_KEY": Fernet.generate_key().decode(), "HUB_SECRET_KEY": "the-secret-of-this-hub"}
    boot = installation.hub("bootstrap", "--org", "demo", "--project", "backend", "--email", "o@example.com",
                            **keys)
    assert boot.returncode == 0, boot.stderr
    demo = json.loads(boot.stdout.strip().splitlines()[-1])
    port = _free_port()
    web = installation.start_gunicorn(port, **keys)
    _wait_for_web(f"http://127.0.0.1:{port}", web)
    _resolve_a_linked_issue(f"http://127.0.0.1:{port}", demo, tracker)

    # A worker that generates its own encryption key (no HUB_ENCRYPTION_KEY) into the instance folder.
    worker = installation.start_worker(HUB_SECRET_KEY=keys["HUB_SECRET_KEY"])
    assert worker.wait(60) != 0
    [line] = worker.stderr.read().strip().splitlines()
    assert line.startswith("Error: HUB_ENCRYPTION_KEY of this process")
    assert f"{installation.instance}/encryption_key" in line and "HUB_INSTANCE_PATH" in line
    assert "same HUB_ENCRYPTION_KEY and HUB_SECRET_KEY" in line
    time.sleep(1)
    assert tracker.puts() == []
    pending = installation.hub("outbox", **keys)
    [row] = pending.stdout.splitlines()
    assert pending.returncode == 0 and row.split()[2] in ("pending", "enqueued") and "attempts=0" in row

    # The web side, with another HUB_SECRET_KEY (sessions and link tokens would not verify): gunicorn stops.
    other_web = installation.start_gunicorn(_free_port(), **{**keys, "HUB_SECRET_KEY": "another-secret"})
    assert other_web.wait(60) != 0
    errors = [x for x in other_web.stderr.read().splitlines() if x.startswith("Error:")]
    assert errors and errors[0].startswith("Error: HUB_SECRET_KEY of this process (HUB_SECRET_KEY as set;")
    assert "Traceback" not in "".join(errors)

    # The CLI too, and nothing it would have done is done.
    cli = installation.hub("token", "create", "--email", "o@example.com",
                           **{**keys, "HUB_ENCRYPTION_KEY": Fernet.generate_key().decode()})
    assert cli.returncode == 1 and cli.stdout == ""
    assert cli.stderr.startswith("Error: HUB_ENCRYPTION_KEY of this process (HUB_ENCRYPTION_KEY as set;")
    assert "Traceback" not in cli.stderr


def _start_on(config: dict[str, Any]) -> str:
    from hub.app import create_app
    from hub.keycheck import KeyMismatch

    try:
        create_app(config)
    except KeyMismatch as e:
        return str(e)
    return "started"


def test_processes_starting_together_on_a_new_database_agree_on_one_check_value(make_app, hub_database_url,
                                                                                 hub_redis_url, tmp_path):
    """Eight processes with one set of keys and eight with another start at once: one set wins, everywhere."""
    import multiprocessing

    from sqlalchemy import delete, func, select

    from hub import models as m
    from hub.extensions import db
    from hub.testing import _base_config

    with make_app().app_context():
        db.session.execute(delete(m.KeyCheck))
        db.session.commit()
    ours = _base_config(hub_database_url, hub_redis_url, str(tmp_path / "ours"))
    theirs = {**ours, "HUB_ENCRYPTION_KEY": Fernet.generate_key().decode(), "HUB_SECRET_KEY": "theirs",
              "HUB_INSTANCE_PATH": str(tmp_path / "theirs")}
    # spawn, not fork: the test process has threads (live servers, Redis clients) a forked child would
    # inherit mid-lock.
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        results = pool.map(_start_on, [ours, theirs] * 8)
    started = {i % 2 for i, r in enumerate(results) if r == "started"}
    assert len(started) == 1  # only one set of keys starts
    refused = [r for r in results if r != "started"]
    assert len(refused) == 8
    assert all("HUB_ENCRYPTION_KEY and HUB_SECRET_KEY of this process" in r for r in refused)
    with make_app(**({} if started == {0} else theirs)).app_context():
        assert db.session.scalar(select(func.count()).select_from(m.KeyCheck)) == 2
