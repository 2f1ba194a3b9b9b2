"""Envelope ingest throughput against a bare Flask endpoint, both under the same gunicorn settings.

Each request is a typical Python error event (an exception with 20 frames, context lines and locals,
30 breadcrumbs, user, tags, contexts), about 5 KB gzip-compressed, each with its own event id, so the
hub stores every one (normalize, group, insert). Prints requests per second for both and the ratio.
Run: ``python bench/sdk_ingest.py [--seconds 10] [--runs 1] [--client wrk|python] [--concurrency 32]
[--workers 2] [--threads 4] [--port 8600] [--database-url URL]`` (needs gunicorn; no Redis needed).
The load comes from ``wrk -t2`` (the default when ``wrk`` is on PATH), which sends each run's envelopes
from a file in turn; ``--client python`` uses threads of ``requests`` instead, which measured 420-540
requests/s against bare Flask at most (a ceiling of the client's, not of the server's: wrk drives the same
endpoint at about 6,800/s). The hub runs on a throwaway SQLite file, or with ``--database-url
postgresql+psycopg://...`` on a throwaway database created on that server (and dropped after). With
``--runs N`` both servers stay up and are measured in turn N times; every run prints its own ratio, then
the median. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import database  # noqa: E402  (bench/common.py: what the benches share)

ROOT = Path(__file__).resolve().parent.parent


def typical_event(i: int) -> dict:
    frames = [
        {
            "filename": f"shop/module_{n}.py",
            "abs_path": f"/srv/shop/module_{n}.py",
            "module": f"shop.module_{n}",
            "function": f"handler_{n}",
            "lineno": 40 + n,
            "in_app": n > 5,
            "context_line": f"    result = compute_{n}(order, basket)",
            "pre_context": [f"    # step {n}", "    order = load(order_id)"],
            "post_context": ["    return result"],
            "vars": {
                "order_id": str(1000 + i),
                "basket": "{'items': 3, 'total': 42.5}",
                "n": str(n),
                **{f"token_{k}": uuid.uuid4().hex for k in range(7)},
            },
        }
        for n in range(20)
    ]
    return {
        "event_id": uuid.uuid4().hex,
        "platform": "python",
        "level": "error",
        "timestamp": time.time(),
        "release": "shop@1.2.3",
        "environment": "production",
        "server_name": "web-1",
        "exception": {
            "values": [
                {
                    "type": "KeyError",
                    "value": f"'user_{i}'",
                    "mechanism": {"type": "generic", "handled": False},
                    "stacktrace": {"frames": frames},
                }
            ]
        },
        "breadcrumbs": {
            "values": [
                {
                    "timestamp": time.time(),
                    "category": "query",
                    "level": "info",
                    "message": f"SELECT * FROM orders WHERE id = '{uuid.uuid4().hex}'",
                }
                for n in range(30)
            ]
        },
        "user": {"id": str(i), "email": f"user{i}@example.com", "ip_address": "10.0.0.1"},
        "tags": {"tenant": "acme", "region": "eu-west-1"},
        "contexts": {
            "runtime": {"name": "CPython", "version": "3.11.9"},
            "os": {"name": "Linux"},
            "trace": {"trace_id": uuid.uuid4().hex, "span_id": uuid.uuid4().hex[:16]},
        },
        "sdk": {"name": "sentry.python", "version": "2.75.0"},
        "extra": {"sys.argv": ["gunicorn", "wsgi:app"], "request_id": uuid.uuid4().hex},
    }


def envelope(i: int) -> bytes:
    event = typical_event(i)
    payload = json.dumps(event).encode()
    header = json.dumps({"event_id": event["event_id"], "sent_at": "2026-01-01T00:00:00Z"}).encode()
    item = json.dumps({"type": "event", "length": len(payload)}).encode()
    return gzip.compress(header + b"\n" + item + b"\n" + payload + b"\n")


def wait_up(url: str) -> None:
    for _ in range(200):
        try:
            requests.get(url, timeout=10)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"server at {url} did not start")


#: Envelopes made per second of a run, by client: each run sends event ids never sent before (a resent
#: id is an SDK's retry, which the hub answers without storing anything).
FRESH_PER_SECOND = {"python": 600, "wrk": 2500}


def load(url: str, bodies: list[bytes], seconds: float, concurrency: int) -> tuple[float, int]:
    """Requests per second over ``seconds`` with ``concurrency`` client threads; and the non-200 count."""
    counter = {"ok": 0, "bad": 0, "next": 0}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def run() -> None:
        session = requests.Session()
        while time.monotonic() < stop:
            with lock:
                body = bodies[counter["next"] % len(bodies)]
                counter["next"] += 1
            r = session.post(
                url,
                data=body,
                headers={"Content-Encoding": "gzip", "Content-Type": "application/x-sentry-envelope"},
            )
            with lock:
                counter["ok" if r.status_code == 200 else "bad"] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counter["ok"] / (time.monotonic() - started), counter["bad"]


#: wrk's request script: every envelope of the file (each a line with its length, then its bytes) in turn,
#: the two threads taking alternate ones; wrk prints how many it sent.
WRK_SCRIPT = """
local bodies, n = {}, 0
local f = assert(io.open(BODIES, "rb"))
while true do
  local size = f:read("*l")
  if not size then break end
  n = n + 1
  bodies[n] = f:read(tonumber(size))
end
f:close()
local sent, threads = 0, 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
function init(args) id = tonumber(wrk.thread:get("id")) end
request = function()
  sent = sent + 1
  local headers = {["Content-Type"] = "application/x-sentry-envelope", ["Content-Encoding"] = "gzip"}
  return wrk.format("POST", nil, headers, bodies[((sent * 2 + id) % n) + 1])
end
"""


def load_wrk(url: str, bodies: list[bytes], seconds: float, concurrency: int, workdir: Path,
             stores: bool = True) -> tuple[float, int]:
    """Requests per second over ``seconds`` from ``wrk -t2 -c<concurrency>``; and the non-2xx count. For a
    server that ``stores``, more requests than bodies resend event ids (retries, which the hub stores
    nothing for): said, not hidden."""
    path = workdir / "bodies.bin"
    with path.open("wb") as out:
        for body in bodies:
            out.write(b"%d\n" % len(body) + body)
    script = workdir / "sdk.lua"
    script.write_text(f"BODIES = {json.dumps(str(path))}\n" + WRK_SCRIPT)
    command = ["wrk", "-t2", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "-s", str(script), url]
    done = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", done).group(1))  # type: ignore[union-attr]
    sent = int(re.search(r"(\d+) requests in", done).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", done)
    if stores and sent > len(bodies):
        print(f"  (sent {sent} requests from {len(bodies)} envelopes: the rest were resent ids)", flush=True)
    return rate, int(non2xx.group(1)) if non2xx else 0


def client_name(args: argparse.Namespace) -> str:
    if args.client == "wrk":
        return f"wrk -t2 -c{args.concurrency}"
    return f"{args.concurrency} client threads (requests)"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--client", choices=("wrk", "python"),
                        default="wrk" if shutil.which("wrk") else "python")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="connections (wrk: 32) or threads (python: 8)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8600)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server (a database is made on it)")
    args = parser.parse_args()
    if args.concurrency is None:
        args.concurrency = 32 if args.client == "wrk" else 8

    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-sdk-"))
    with database(args.database_url, workdir) as url:
        run(args, workdir, url)


def run(args: argparse.Namespace, workdir: Path, database_url: str) -> None:
    env = {
        **os.environ,
        "HUB_DATABASE_URL": database_url,
        "HUB_INSTANCE_PATH": str(workdir),
        "HUB_REDIS_URL": "redis://127.0.0.1:1/0",
        "HUB_LOG_LEVEL": "WARNING",
        "HUB_SDK_RATE_LIMIT": "0",
    }
    hub_cli = (
        [sys.executable, "-m", "hub.cli"]
        if not Path(sys.executable).with_name("hub").exists()
        else [str(Path(sys.executable).with_name("hub"))]
    )
    subprocess.run([*hub_cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    boot = subprocess.run(
        [*hub_cli, "bootstrap", "--org", "bench", "--project", "shop", "--email", "bench@example.com"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    dsn = json.loads(boot.stdout.strip().splitlines()[-1])["dsn"]
    key, project_id = dsn.split("//", 1)[1].split("@", 1)[0], dsn.rstrip("/").rsplit("/", 1)[-1]

    # more than the hub answers: no event id comes twice
    per_run = int(max(1, round(args.seconds)) * FRESH_PER_SECOND[args.client])
    bodies = [envelope(i) for i in range(50 + per_run * args.runs)]
    size = sum(len(b) for b in bodies) / len(bodies)
    gunicorn = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--log-level",
        "warning",
    ]
    engine = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    print(
        f"envelope: {size / 1024:.1f} KB gzip; gunicorn -w {args.workers} --threads {args.threads}; "
        f"{client_name(args)}, {args.seconds:g} s each; hub on {engine}; "
        f"load average {load_average()}",
        flush=True,
    )
    servers = {}
    procs = []
    try:
        for name, app, port in (
            ("bare Flask", "bench.bare_app:app", args.port + 1),
            ("hub", "wsgi:app", args.port),
        ):
            procs.append(subprocess.Popen([*gunicorn, "-b", f"127.0.0.1:{port}", app], cwd=ROOT, env=env))
            wait_up(f"http://127.0.0.1:{port}/")
            servers[name] = f"http://127.0.0.1:{port}/api/{project_id}/envelope/?sentry_key={key}"
            load(servers[name], bodies[:50], 1.0, args.concurrency)  # warm-up
        def measure(name: str, url: str, fresh: list[bytes]) -> tuple[float, int]:
            if args.client == "wrk":
                return load_wrk(url, fresh, args.seconds, args.concurrency, workdir, stores=name == "hub")
            return load(url, fresh, args.seconds, args.concurrency)

        ratios = []
        for i in range(args.runs):
            fresh = bodies[50 + per_run * i:50 + per_run * (i + 1)]
            results = {name: measure(name, url, fresh) for name, url in servers.items()}
            ratios.append(results["hub"][0] / results["bare Flask"][0])
            rates = [f"{name} {rate:.1f} requests/s ({bad} non-200)" for name, (rate, bad) in results.items()]
            print(f"run {i + 1}: {'; '.join(rates)}; ratio hub / bare Flask: {ratios[-1]:.2f}", flush=True)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
    print(f"load average {load_average()}")
    median = " (median)" if len(ratios) > 1 else ""
    print(f"ratio hub / bare Flask: {statistics.median(ratios):.2f}{median}")


if __name__ == "__main__":
    main()
