"""Webhook ack throughput: a signed Jira Server ``issue_updated`` against a bare Flask JSON endpoint.

Both run under the same gunicorn (``-w 2 --threads 4``) and are driven by the same ``wrk -t2 -c32``;
it prints requests/s, latency percentiles and non-2xx counts of each, and the ratio (the issue 11
"before"). Every request body differs (its timestamp and assignee), so none is a redelivery: each
one is verified, claimed, parsed and applied (assign bob, unassign, ...) on one linked ticket.

Run: ``python bench/webhook_ack.py [--duration 10] [--database-url URL]``; needs ``wrk`` and
``redis-server`` on PATH (or ``--redis-url``). SQLite by default (a throwaway file).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BARE_APP = '''
from flask import Flask, jsonify, request
app = Flask("bare")

@app.post("/")
def ack():
    return jsonify({"ok": True, "n": len(request.get_json(force=True))})
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
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    from sqlalchemy import text

    from hub.app import create_app
    from hub.extensions import db
    from hub.testing import Factories
    from plugins.jira_server.verify import webhook_token

    app = create_app()
    with app.app_context():
        if not database_url.startswith("sqlite"):
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
        f = Factories(app)
        s = f.setup()
        f.member(s["org"], "bob@example.org", projects=[s["project"]], name="Bob")
        secret = "bench-webhook-secret-at-least-32-bytes-long"
        integration = f.integration(s["org"], "jira_server", "jira.example.org:bench",
                                    {"base_url": "https://jira.example.org", "webhook_secret": secret},
                                    config={"sync_assignee_inbound": True, "sync_status_reverse": True})
        f.link(f.group(s["project"]), integration, "APP-1")
        return f"/extensions/jira_server/issue-updated/{webhook_token('jira.example.org:bench', secret)}/"


def serve(app_spec: str, cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "4", "-b",
                             f"127.0.0.1:{port}", app_spec], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
    database_url = args.database_url or f"sqlite:///{workdir / 'hub.sqlite'}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        path = prepare(database_url, redis_url, str(workdir / "instance"))
        (workdir / "bare_app.py").write_text(BARE_APP)
        template = payload_template().replace("\\", "\\\\").replace("'", "\\'")
        (workdir / "hub.lua").write_text(f"TEMPLATE = '{template}'\n" + LUA)
        (workdir / "bare.lua").write_text(f"TEMPLATE = '{template}'\n" + LUA)
        env = {**os.environ, "HUB_ASYNC": "1"}
        bare, bare_url = serve("bare_app:app", workdir, env)
        procs.append(bare)
        hub, hub_url = serve("wsgi:app", ROOT, env)
        procs.append(hub)
        results = {
            "bare flask": wrk(bare_url + "/", args.duration, workdir / "bare.lua"),
            "jira_server issue_updated": wrk(hub_url + path, args.duration, workdir / "hub.lua"),
        }
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(5)
        shutil.rmtree(workdir, ignore_errors=True)
    engine = database_url.split(":", 1)[0]
    print(f"webhook ack, gunicorn -w 2 --threads 4, wrk -t2 -c32 -d{args.duration}s, {engine}")
    for name, r in results.items():
        print(f"  {name:28} {r['rps']:9.1f} req/s  p50 {r['p50']:7.1f} ms  p99 {r['p99']:7.1f} ms  "
              f"non-2xx {r['non2xx']}  socket errors {r['socket_errors']}")
    ratio = results["jira_server issue_updated"]["rps"] / results["bare flask"]["rps"]
    print(f"  ratio (hub / bare): {ratio:.3f}")


if __name__ == "__main__":
    main()
