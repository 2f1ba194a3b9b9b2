"""The CLI and /healthz agree about Redis; the CLI names the Redis it cannot reach, never its password."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from sqlalchemy import select

from hub import models as m
from hub.extensions import db


def _dead_redis_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://hubuser:s3cret-pw@127.0.0.1:{port}/0"


def test_hub_worker_stops_with_one_line_naming_the_redis_it_cannot_reach(tmp_path):
    url = _dead_redis_url()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_INSTANCE_PATH=str(tmp_path / "instance"), HUB_REDIS_URL=url)
    proc = subprocess.run([sys.executable, "-c", "from hub.cli import main; main()", "worker"], env=env,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 1
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"Error: Redis at {url.replace('s3cret-pw', '***')} cannot be reached (")
    assert "HUB_REDIS_URL" in line
    assert "s3cret-pw" not in proc.stderr + proc.stdout and "Traceback" not in proc.stderr


def test_outbox_retry_with_redis_down_names_it_and_changes_nothing(make_app, factories):
    url = _dead_redis_url().replace("hubuser:s3cret-pw@", "") + "?password=s3cret-pw"
    app = make_app(HUB_REDIS_URL=url)
    with app.app_context():
        s = factories.setup()
        row = m.OutboxEntry(kind="sync_status_outbound", organization_id=s["org"].id, payload={},
                            status="dead", attempts=8, last_error="boom")
        db.session.add(row)
        db.session.commit()
        out = app.test_cli_runner().invoke(args=["outbox", "retry", row.id])
        assert out.exit_code == 1
        assert "Redis at redis://127.0.0.1:" in out.output and "password=***" in out.output
        assert "s3cret-pw" not in out.output
        db.session.expire_all()
        assert db.session.scalar(select(m.OutboxEntry.status)) == "dead"
        health = app.test_client().get("/healthz")
        assert health.status_code == 503 and health.json["redis"] == "down"


def test_when_healthz_reaches_redis_so_does_the_worker(make_app):
    app = make_app()
    assert app.test_client().get("/healthz").json["redis"] == "ok"
    out = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert out.exit_code == 0, out.output
