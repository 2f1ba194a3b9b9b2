"""README command 1 (``scripts/run-demo``) end to end: its own Redis, the printed token works, SIGTERM
stops everything."""

from __future__ import annotations

import os
import signal
import threading


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
