"""A real hub server for concurrency tests: gunicorn (``-w 2 --threads 4``) on a free port.

The server shares the test database and Redis, so a test sets rows up with the factories,
commits, fires concurrent requests at the server and reads the database afterwards.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from hub.testing import TEST_BASE_URL, TEST_ENCRYPTION_KEY

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hub_env(database_url: str, redis_url: str, instance: str, **extra: str) -> dict[str, str]:
    """The environment of a hub process sharing the test database and Redis (nothing of the caller's
    HUB_*)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
        "HUB_DATABASE_URL": database_url, "HUB_REDIS_URL": redis_url, "HUB_SECRET_KEY": "test-secret-key",
        "HUB_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY, "HUB_BASE_URL": TEST_BASE_URL,
        "HUB_INSTANCE_PATH": instance,
        "HUB_LOG_LEVEL": "WARNING", "HUB_OUTBOX_BACKOFF_BASE": "60",
        **extra,
    }


def hub_worker(env: dict[str, str], *args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``hub worker`` (add ``--burst`` to run what is due and exit)."""
    out = log.open("ab") if log else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-c", "from hub.cli import main; main()", "worker", *args],
                            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


@contextmanager
def gunicorn(database_url: str, redis_url: str, instance: str, *, workers: int = 2,
             threads: int = 4, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``gunicorn wsgi:app``; yields its base URL; stops it (SIGTERM, then SIGKILL)."""
    port = free_port()
    env = hub_env(database_url, redis_url, instance, **(extra_env or {}))
    log = Path(instance) / "gunicorn.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads),
             "-b", f"127.0.0.1:{port}", "--graceful-timeout", "5", "wsgi:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=5).status_code in (200, 503):
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def at_once(count: int, call: Callable[[], Any]) -> list[Any]:
    """Run ``call`` ``count`` times from ``count`` threads released together; the results in order."""
    import threading

    barrier = threading.Barrier(count)

    def run(_: int) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))
