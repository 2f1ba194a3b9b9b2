"""CI runs bench/sdk_ingest.py briefly as a smoke test: it must run to the end on the test's database
engine and print its figures; nothing is asserted about time (CI machines are shared)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

from tests.support.live import free_port

ROOT = Path(__file__).resolve().parents[2]


def _two_free_ports() -> int:
    for _ in range(50):
        port = free_port()
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no two consecutive free ports")


def test_the_sdk_ingest_bench_runs_and_prints_the_ratio(hub_database_url):
    command = [sys.executable, "bench/sdk_ingest.py", "--seconds", "0.5", "--runs", "2",
               "--port", str(_two_free_ports())]
    if hub_database_url.startswith("postgresql"):
        command += ["--database-url", hub_database_url]  # a throwaway database on the same server
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    engine = "PostgreSQL" if hub_database_url.startswith("postgresql") else "SQLite"
    assert f"hub on {engine}" in out and "load average" in out
    runs = re.findall(r"run \d: bare Flask [\d.]+ requests/s \(0 non-200\); "
                      r"hub [\d.]+ requests/s \(0 non-200\); ratio hub / bare Flask: [\d.]+", out)
    assert len(runs) == 2, out
    assert re.search(r"^ratio hub / bare Flask: [\d.]+ \(median\)$", out, re.M), out
