"""End to end: a sustained rate of signed deliveries acknowledged by gunicorn and applied by two workers.

gunicorn (``-w 2 --threads 4``) acknowledges; two ``hub worker`` processes apply. The sender keeps a
fixed rate (default 200 deliveries/s) for ``--seconds`` over 50 linked tickets, every delivery a
real change (the ticket's status flips, with an increasing event time). It prints the achieved
rate, the ack latency (p50/p99, client side), non-2xx answers, and the time from ack (the delivery
row's ``date_received``) to applied (the change's ``date_applied``): p50, p99 and max, and how many
changes were left unapplied (must be 0). The plugin is the v2 test plugin of the docs
(``tests/support/signed_tracker.py``).

Run: ``python bench/inbound_e2e.py [--rate 200] [--seconds 60] [--database-url URL]``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from common import database, free_port  # noqa: E402

TICKETS = 50
SECRET = "bench-secret"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def prepare(database_url: str) -> None:
    from flask_migrate import upgrade

    from hub.app import create_app
    from hub.testing import Factories

    app = create_app()
    with app.app_context():
        upgrade()
        f = Factories(app)
        s = f.setup()
        integration = f.integration(s["org"], "signed", "site-a", {"secret": SECRET},
                                    config={"sync_status_reverse": True})
        for n in range(TICKETS):
            f.link(f.group(s["project"], message=f"Error {n}"), integration, f"APP-{n}")


def send(url: str, rate: float, seconds: float) -> tuple[list[float], int, int, float, float]:
    """Send at ``rate`` per second from 32 threads (the connections of bench/webhook_ack.py's wrk: a
    slow ack delays the thread's next delivery, not the rate); returns ack latencies (ms), sent,
    non-2xx, the seconds from the schedule's start to the last ack, and the most any delivery left
    after its due time (ms: a sender that kept the rate stays near 0).

    Each thread keeps one HTTP/1.1 connection (``http.client``: a tenth of ``requests``' CPU per
    request, which the sender shares with the hub on the same machine)."""
    from tests.support.signed_tracker import sign

    threads, latencies, failures, late, last = 32, [], [0], [0.0], [0.0]
    lock = threading.Lock()
    start = time.monotonic() + 0.5
    total = int(rate * seconds)
    target = urlsplit(url)
    path = target.path + (f"?{target.query}" if target.query else "")

    def run(offset: int) -> None:
        connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=30)
        for n in range(offset, total, threads):
            due = start + n / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            ticket = n % TICKETS
            body = json.dumps({"delivery": f"e2e-{n}", "key": f"APP-{ticket}", "updated_ms": 1_000_000 + n,
                               "state": "closed" if (n // TICKETS) % 2 == 0 else "open"}).encode()
            headers = {"Content-Type": "application/json", "X-Signature": sign(SECRET, body)}
            sent = time.monotonic()
            behind = sent - due
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                connection.close()  # reconnects on the next request
                ok = False
            with lock:
                done = time.monotonic()
                latencies.append((done - sent) * 1000)
                late[0], last[0] = max(late[0], behind * 1000), max(last[0], done)
                if not ok:
                    failures[0] += 1
        connection.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return latencies, total, failures[0], last[0] - start, late[0]


PENDING = "SELECT count(*) FROM inbound_changes WHERE state = 'pending'"


def applied_latencies(database_url: str, deadline: float) -> tuple[list[float], int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            pending = conn.execute(text(PENDING)).scalar()
            conn.commit()
            if not pending:
                break
            time.sleep(0.2)
        rows = conn.execute(text(
            "SELECT d.date_received, c.date_applied, c.state FROM inbound_changes c "
            "JOIN webhook_deliveries d ON d.id = c.delivery_id")).all()
    engine.dispose()
    import datetime as dt

    def when(value: object) -> float:
        parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        assert isinstance(parsed, dt.datetime)
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp()

    latencies = [(when(a) - when(r)) * 1000 for r, a, state in rows if a is not None]
    left = sum(1 for _, a, state in rows if state == "pending")
    return latencies, left


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-e2e-"))
    port = free_port()
    redis_proc = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port),
                                   "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stack = contextlib.ExitStack()
    database_url = stack.enter_context(database(args.database_url or None, workdir))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
           "HUB_DATABASE_URL": database_url, "HUB_REDIS_URL": f"redis://127.0.0.1:{port}/0",
           "HUB_INSTANCE_PATH": str(workdir / "instance"), "HUB_LOG_LEVEL": "WARNING",
           "HUB_PLUGINS": "tests.support.signed_tracker", "PYTHONPATH": str(ROOT)}
    os.environ.update(env)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        time.sleep(0.3)
        prepare(database_url)
        web_port = free_port()
        procs.append(subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "4", "-b",
                                       f"127.0.0.1:{web_port}", "wsgi:app"], cwd=ROOT, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for _ in range(2):
            procs.append(subprocess.Popen([sys.executable, "-c", "from hub.cli import main; main()", "worker",
                                           "--poll", "0.2"], cwd=ROOT, env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        base = f"http://127.0.0.1:{web_port}"
        for _ in range(300):
            try:
                requests.get(base + "/healthz", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.1)
        cpu = time.process_time()
        acks, sent, failed, elapsed, late = send(base + "/extensions/signed/hooks/site-a/", args.rate,
                                                 args.seconds)
        cpu = time.process_time() - cpu
        applied, left = applied_latencies(database_url, time.monotonic() + 60)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                print(f"  (process {proc.args[-3:]} did not stop on SIGTERM within 15 s: killed)")
                proc.kill()
                proc.wait(5)
        redis_proc.terminate()
        redis_proc.wait(5)
        shutil.rmtree(workdir, ignore_errors=True)
        stack.close()
    engine = database_url.split(":", 1)[0]
    print(f"inbound end to end, {engine}: gunicorn -w 2 --threads 4, 2 hub workers, "
          f"{args.rate:.0f}/s for {args.seconds:.0f} s")
    print(f"  sent {sent} in {elapsed:.2f} s from the schedule's start to the last ack "
          f"({sent / elapsed:.1f}/s achieved), non-2xx {failed}; the latest send left "
          f"{late:.1f} ms after its due time; the sender's CPU {cpu / max(sent, 1) * 1000:.2f} ms "
          "per delivery")
    print(f"  ack latency     p50 {statistics.median(acks):7.1f} ms  p99 {percentile(acks, 99):7.1f} ms")
    print(f"  ack -> applied  p50 {statistics.median(applied) if applied else float('nan'):7.1f} ms  "
          f"p99 {percentile(applied, 99):7.1f} ms  max {max(applied) if applied else float('nan'):7.1f} ms")
    print(f"  applied {len(applied)} of {sent}, left pending {left}")


if __name__ == "__main__":
    main()
