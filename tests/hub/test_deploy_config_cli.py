"""Deployment: configuration from the environment, generated keys, the ``hub`` command and its worker."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading

import pytest
from sqlalchemy import select

from hub import config as hub_config
from hub import models as m
from hub.extensions import db
from tests.hub.conftest import TRACKER


def _resolve_in(folder: str) -> tuple[str, str]:
    out = hub_config.resolve({**hub_config.DEFAULTS}, folder)
    return out["HUB_SECRET_KEY"], out["HUB_ENCRYPTION_KEY"]


def test_a_process_that_loses_the_key_race_reads_the_winners_key(tmp_path, monkeypatch):
    real_link = os.link

    def another_process_wins(src, dst):
        (tmp_path / os.path.basename(dst)).write_text("theirs\n")
        return real_link(src, dst)

    monkeypatch.setattr(hub_config.os, "link", another_process_wins)
    assert hub_config._persisted_key(str(tmp_path), "secret_key", lambda: "ours") == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]  # no temporary file left


def test_processes_starting_together_share_one_complete_pair_of_keys(tmp_path):
    """gunicorn -w 4 and workers on a fresh instance folder: never an empty key, never two keys."""
    folders = [str(tmp_path / f"instance-{i}") for i in range(6)]
    with multiprocessing.get_context("spawn").Pool(12) as pool:
        results = pool.map(_resolve_in, [f for f in folders for _ in range(12)])
    for i, folder in enumerate(folders):
        keys = set(results[i * 12:(i + 1) * 12])
        assert len(keys) == 1 and all(all(pair) for pair in keys), folder
        assert (os.stat(os.path.join(folder, "encryption_key")).st_mode & 0o777) == 0o600


def test_a_malformed_encryption_key_stops_the_start(tmp_path):
    with pytest.raises(ValueError, match="HUB_ENCRYPTION_KEY is not a Fernet key"):
        hub_config.resolve({**hub_config.DEFAULTS, "HUB_ENCRYPTION_KEY": "..."}, str(tmp_path))


def test_hub_plugins_from_the_environment_names_modules(tmp_path):
    from hub.plugins import build_plugin_manager

    settings = hub_config.from_environ({"HUB_PLUGINS": "hub_tracker, hub.inbound_hooks"})
    assert settings["HUB_PLUGINS"] == ("hub_tracker", "hub.inbound_hooks")
    plugins = build_plugin_manager(
        {
            **hub_config.DEFAULTS,
            "HUB_LOAD_ENTRYPOINTS": False,
            "HUB_PLUGINS": hub_config.from_environ({"HUB_PLUGINS": "hub_tracker"})["HUB_PLUGINS"],
        }
    )
    assert "tracker" in {r.provider["key"] for r in plugins.records.values() if r.provider}


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


def test_the_hub_command_reads_only_the_working_directorys_env_like_the_web_processes(tmp_path, monkeypatch):
    """``hub worker`` must not pick up a parent directory's ``.env`` (or ``.flaskenv``) that gunicorn never
    sees."""
    from click.testing import CliRunner

    from hub.cli import main

    (tmp_path / ".env").write_text("HUB_QUEUE_NAME=from-a-parent-directory\n")
    (tmp_path / ".flaskenv").write_text("HUB_LOG_LEVEL=DEBUG\n")
    (tmp_path / "deploy").mkdir()
    monkeypatch.chdir(tmp_path / "deploy")
    for name in ("HUB_QUEUE_NAME", "HUB_LOG_LEVEL"):
        monkeypatch.setenv(name, "sentinel")
        monkeypatch.delenv(name)
    assert CliRunner().invoke(main, ["--help"]).exit_code == 0
    assert "HUB_QUEUE_NAME" not in os.environ and "HUB_LOG_LEVEL" not in os.environ


def test_hub_version_is_the_hubs_own():
    from importlib.metadata import version

    from click.testing import CliRunner

    from hub.cli import main

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"Integration Hub {version('integration-hub')}"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _live_processes_in_group(pgid: int) -> list[str]:
    from pathlib import Path

    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            live.append(stat.parent.name)
    return live


def test_run_demo_serves_with_its_token_then_stops_everything_on_sigterm(tmp_path):
    """README command 1, minus the pip step: its own Redis on a free port, the printed token works, and
    SIGTERM (not only Ctrl-C) stops the web server, the worker and Redis."""
    import json
    import queue
    import subprocess
    import sys
    import time
    from pathlib import Path

    import requests

    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "python3").write_text(
        f'#!/bin/sh\n[ "$1 $2" = "-m pip" ] && exit 0\nexec {sys.executable} "$@"\n'
    )
    (shim / "python3").chmod(0o755)
    port = _free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    environ.update(
        PATH=f"{shim}:{environ['PATH']}",
        PORT=str(port),
        HUB_INSTANCE_PATH=str(tmp_path / "instance"),
        HUB_REDIS_URL=f"redis://127.0.0.1:{_free_port()}/0",
    )  # nothing there: the script starts one
    script = Path(__file__).resolve().parents[2] / "scripts" / "run-demo"
    proc = subprocess.Popen(
        [str(script)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        seen, deadline = [], time.monotonic() + 90
        while not any(line.startswith("Integration Hub:") for line in seen):
            seen.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
        demo = json.loads(next(line for line in seen if line.startswith("{")))
        base = f"http://127.0.0.1:{port}"
        assert f"Integration Hub: {base}" in seen[-1]
        for _ in range(100):
            try:
                health = requests.get(f"{base}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert health.json() == {"status": "ok", "database": "ok", "redis": "ok"}
        # A second shell: only what instance/demo.env says; its worker reaches the same Redis and keys.
        demo_env = tmp_path / "instance" / "demo.env"
        assert (os.stat(demo_env).st_mode & 0o777) == 0o600
        [redis_line] = [x for x in demo_env.read_text().splitlines() if x.startswith("HUB_REDIS_URL=")]
        assert redis_line.startswith("HUB_REDIS_URL=redis://127.0.0.1:") and f"{redis_line}\n" in seen
        assert redis_line != f"HUB_REDIS_URL={environ['HUB_REDIS_URL']}"  # the one it started, not the dead
        second = {k: v for k, v in environ.items() if k != "HUB_REDIS_URL" and k != "HUB_INSTANCE_PATH"}
        burst = subprocess.run(["bash", "-c", f'set -a; . "{demo_env}"; set +a; exec "$0" -c '
                                "'from hub.cli import main; main()' worker --burst", sys.executable],
                               env=second, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert burst.returncode == 0, burst.stderr
        r = requests.get(
            f"{base}/api/0/organizations/demo/issues/", headers={"Authorization": f"Bearer {demo['token']}"}
        )
        assert r.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) != 0
        for _ in range(50):
            if not _live_processes_in_group(proc.pid):
                break
            time.sleep(0.2)
        assert _live_processes_in_group(proc.pid) == []
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)
