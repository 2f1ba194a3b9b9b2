"""Webhook ack throughput: signed Jira Server and Jira Cloud ``issue_updated`` against bare Flask.

All run under the same gunicorn (``-w 2 --threads 4``, the hub's ``gunicorn.conf.py``) and are driven
by the same ``wrk -t2 -c32``;
it prints requests/s, latency percentiles and non-2xx counts of each, and the ratio of each to the
bare endpoint. Every request body differs (its timestamp and assignee), so none is a redelivery:
each one is verified (Jira Server: the token in the URL; Jira Cloud: a Connect JWT with its query
hash in ``Authorization``), claimed, parsed and recorded with its change (the worker, not running
here, would apply it: the ack is what is measured). A third endpoint, the floor, is bare Flask plus
one durable insert on the same database: what any ack that records its delivery before answering
could reach on this machine (its ratio is printed too; it is no target).

Run: ``python bench/webhook_ack.py [--duration 10] [--database-url URL]``; needs ``wrk`` and
``redis-server`` on PATH (or ``--redis-url``). SQLite by default (a throwaway file).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from common import database, free_port  # noqa: E402

BARE_APP = '''
from flask import Flask, jsonify, request
app = Flask("bare")

@app.post("/")
def ack():
    return jsonify({"ok": True, "n": len(request.get_json(force=True))})
'''
#: The floor: bare Flask plus the one thing an ack cannot skip, a durable write (one row, committed
#: before the answer, on the bench's database through its driver, no ORM). Not part of any target:
#: it says how much of bare Flask's throughput any ack that records its delivery can reach here.
FLOOR_APP = '''
import json, os, threading
import sqlalchemy as sa
from flask import Flask, jsonify, request
app = Flask("floor")
engine = sa.create_engine(os.environ["BENCH_FLOOR_URL"])
mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
INSERT = f"INSERT INTO bench_floor (body, k) VALUES ({mark}, {mark})"
local = threading.local()

def connection():
    if getattr(local, "connection", None) is None:
        local.connection = engine.raw_connection()
        if engine.dialect.name == "sqlite":
            local.connection.execute("PRAGMA busy_timeout=15000")
            local.connection.execute("PRAGMA synchronous=NORMAL")
    return local.connection

@app.post("/")
def ack():
    body = request.get_data()
    key = str(json.loads(body)["timestamp"])
    c = connection()
    cursor = c.cursor()
    cursor.execute(INSERT, (body.decode(), key))
    c.commit()
    return jsonify({"detail": "accepted"})
'''
LUA = r'''
local counter = 0
local threads = 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
function init(args) id = tonumber(wrk.thread:get("id")) end
request = function()
  counter = counter + 1
  local n = counter * 2 + id
  local assignee = 'null'
  if n % 2 == 0 then
    assignee = '{"name": "bob", "emailAddress": "bob@example.org", "displayName": "Bob"}'
  end
  local body = string.format(TEMPLATE, 1763634030000 + n, assignee)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = AUTH}, body)
end
'''


def payload_template() -> str:
    """The Jira Server body with ``%d`` for the timestamp and ``%s`` for the assignee object."""
    body = {
        "timestamp": 0, "webhookEvent": "jira:issue_updated", "issue_event_type_name": "issue_assigned",
        "issue": {"id": "10200", "key": "APP-1", "fields": {
            "summary": "KeyError", "assignee": "ASSIGNEE", "project": {"id": "10000", "key": "APP"},
            "status": {"id": "3", "name": "In Progress", "statusCategory": {"key": "indeterminate"}}}},
        "changelog": {"id": "1", "items": [
            {"field": "assignee", "fieldtype": "jira", "from": None, "to": "bob"}]},
    }
    text = json.dumps(body).replace('"timestamp": 0', '"timestamp": %d').replace('"ASSIGNEE"', "%s")
    return text


def prepare(database_url: str, redis_url: str, instance: str) -> str:
    """Migrate; create acme, bob, a Jira Server integration and APP-1 linked; returns the webhook path."""
    os.environ.update({"HUB_DATABASE_URL": database_url, "HUB_REDIS_URL": redis_url,
                       "HUB_INSTANCE_PATH": instance, "HUB_LOG_LEVEL": "WARNING"})
    from flask_migrate import upgrade

    from hub.app import create_app
    from hub.testing import Factories
    from plugins.jira_server.verify import webhook_token

    app = create_app()
    with app.app_context():
        upgrade()
        f = Factories(app)
        s = f.setup()
        f.member(s["org"], "bob@example.org", projects=[s["project"]], name="Bob")
        secret = "bench-webhook-secret-at-least-32-bytes-long"
        integration = f.integration(s["org"], "jira_server", "jira.example.org:bench",
                                    {"base_url": "https://jira.example.org", "webhook_secret": secret},
                                    config={"sync_assignee_inbound": True, "sync_status_reverse": True})
        f.link(f.group(s["project"]), integration, "APP-1")
        site = {"base_url": "https://bench.atlassian.net", "shared_secret": CLOUD_SECRET,
                "client_key": CLOUD_KEY}
        cloud = f.integration(s["org"], "jira", CLOUD_KEY, site,
                              config={"sync_assignee_inbound": True, "sync_status_reverse": True})
        f.link(f.group(s["project"], message="Cloud"), cloud, "APP-1")
        return f"/extensions/jira_server/issue-updated/{webhook_token('jira.example.org:bench', secret)}/"


CLOUD_KEY = "bench-client-key"
CLOUD_SECRET = "bench-connect-shared-secret-long-enough"
CLOUD_PATH = "/extensions/jira/issue-updated/"


def cloud_token(seconds: int) -> str:
    """A Connect JWT as Jira Cloud signs a webhook (HS256, the shared secret, the request's qsh)."""
    import jwt

    from plugins.jira.connect import query_string_hash

    now = int(time.time())
    return jwt.encode({"iss": CLOUD_KEY, "iat": now, "exp": now + seconds + 120,
                       "qsh": query_string_hash("POST", CLOUD_PATH, "")}, CLOUD_SECRET, algorithm="HS256")


def prepare_floor(database_url: str) -> None:
    """The floor's table, in the bench's database (WAL on SQLite, as the hub's)."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        connection.exec_driver_sql("CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, body TEXT, k TEXT)"
                                   if engine.dialect.name == "sqlite" else
                                   "CREATE TABLE bench_floor (id BIGSERIAL PRIMARY KEY, body TEXT, k TEXT)")
    engine.dispose()


def serve(app_spec: str, cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                             "-w", "2", "--threads", "4", "-b", f"127.0.0.1:{port}", app_spec],
                            cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            requests.get(url + "/", timeout=2)
            return proc, url
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{app_spec} did not start")


def wrk(url: str, duration: int, script: Path | None, body: Path | None = None) -> dict[str, float]:
    cmd = ["wrk", "-t2", "-c32", f"-d{duration}s", "--latency"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        found = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not found:
            return float("nan")
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            "p50": ms("50%"), "p99": ms("99%"), "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(1) if errors else "none"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-ack-"))
    redis_proc = None
    redis_url = args.redis_url
    if not redis_url:
        port = free_port()
        redis_proc = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port),
                                       "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        redis_url = f"redis://127.0.0.1:{port}/0"
        time.sleep(0.3)
    stack = contextlib.ExitStack()
    database_url = stack.enter_context(database(args.database_url or None, workdir))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        path = prepare(database_url, redis_url, str(workdir / "instance"))
        prepare_floor(database_url)
        (workdir / "bare_app.py").write_text(BARE_APP)
        (workdir / "floor_app.py").write_text(FLOOR_APP)
        template = payload_template().replace("\\", "\\\\").replace("'", "\\'")
        header = f"TEMPLATE = '{template}'\n"
        (workdir / "hub.lua").write_text(header + "AUTH = ''\n" + LUA)
        (workdir / "cloud.lua").write_text(header + f"AUTH = 'JWT {cloud_token(args.duration * 3)}'\n" + LUA)
        (workdir / "bare.lua").write_text(header + "AUTH = ''\n" + LUA)
        env = {**os.environ, "HUB_ASYNC": "1"}
        bare, bare_url = serve("bare_app:app", workdir, env)
        procs.append(bare)
        floor, floor_url = serve("floor_app:app", workdir, {**env, "BENCH_FLOOR_URL": database_url})
        procs.append(floor)
        hub, hub_url = serve("wsgi:app", ROOT, env)
        procs.append(hub)
        results = {
            "bare flask": wrk(bare_url + "/", args.duration, workdir / "bare.lua"),
            "jira_server issue_updated": wrk(hub_url + path, args.duration, workdir / "hub.lua"),
            "jira (Cloud) issue_updated": wrk(hub_url + CLOUD_PATH, args.duration, workdir / "cloud.lua"),
            "floor (bare + one insert)": wrk(floor_url + "/", args.duration, workdir / "bare.lua"),
        }
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(5)
        shutil.rmtree(workdir, ignore_errors=True)
        stack.close()
    engine = database_url.split(":", 1)[0]
    print(f"webhook ack, gunicorn -w 2 --threads 4, wrk -t2 -c32 -d{args.duration}s, {engine}")
    for name, r in results.items():
        print(f"  {name:28} {r['rps']:9.1f} req/s  p50 {r['p50']:7.1f} ms  p99 {r['p99']:7.1f} ms  "
              f"non-2xx {r['non2xx']}  socket errors {r['socket_errors']}")
    for name in ("jira_server issue_updated", "jira (Cloud) issue_updated", "floor (bare + one insert)"):
        print(f"  ratio {name} / bare: {results[name]['rps'] / results['bare flask']['rps']:.3f}")


if __name__ == "__main__":
    main()
