"""SQL statements and time per applied inbound change, as the issues linked to one ticket grow.

A recorded status change ("ticket APP-1 is done", then "open" again, alternating) is applied by the
worker's path (:func:`hub.inbound.apply_one`) with 1 linked issue (the baseline, measured in the
same run) and with 10, 100 and 1000; it prints statements per change, milliseconds per change and
each one's ratio to the baseline. The core promises a constant number of statements.

Run: ``python bench/inbound_apply.py [--sizes 1,10,100,1000] [--repeat 6] [--database-url URL]``
(a throwaway SQLite file by default; a Redis at ``--redis-url`` or a ``redis-server`` on PATH).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,100,1000")
    parser.add_argument("--repeat", type=int, default=6)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-apply-"))
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
    os.environ.update({"HUB_DATABASE_URL": database_url, "HUB_REDIS_URL": redis_url, "HUB_ASYNC": "1",
                       "HUB_INSTANCE_PATH": str(workdir / "instance"), "HUB_LOG_LEVEL": "WARNING",
                       "HUB_PLUGINS": "tests.support.signed_tracker"})
    try:
        results = run(sizes, args.repeat, database_url)
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(5)
        shutil.rmtree(workdir, ignore_errors=True)
    engine = database_url.split(":", 1)[0]
    base_statements, base_ms = results[sizes[0]]
    print(f"inbound apply (hub.inbound.apply_one), {engine}, median of {args.repeat} changes per size")
    for size in sizes:
        statements, ms = results[size]
        print(
            f"  {size:5} linked issue(s): {statements:5.1f} statements/change"
            f" ({statements / base_statements:.2f}x)"
            f"  {ms:8.2f} ms/change ({ms / base_ms:.2f}x)"
        )


def run(sizes: list[int], repeat: int, database_url: str) -> dict[int, tuple[float, float]]:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from hub import inbound
    from hub import models as m
    from hub import types as t
    from hub.app import create_app
    from hub.extensions import db
    from hub.testing import Factories

    app = create_app()
    results: dict[int, tuple[float, float]] = {}
    with app.app_context():
        if not database_url.startswith("sqlite"):
            db.drop_all()
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
        f = Factories(app)
        s = f.setup()
        integration = f.integration(s["org"], "signed", "site-a", {"secret": "k"},
                                    config={"sync_status_reverse": True})
        integration_id, org_id, project = integration.id, s["org"].id, s["project"]
        for size in sizes:
            project = db.session.merge(project)
            key = f"APP-{size}"
            groups = [f.group(project, message=f"Error {size}-{i}") for i in range(size)]
            ext = m.ExternalIssue(organization_id=org_id, integration_id=integration_id, key=key)
            db.session.add(ext)
            db.session.flush()
            db.session.add_all([m.GroupLink(group_id=g.id, external_issue_id=ext.id) for g in groups])
            db.session.commit()
            counts, times = [], []
            for n in range(repeat):
                change = t.StatusChange(
                    ticket=t.Ticket(key=key),
                    status_id="closed" if n % 2 == 0 else "open",
                    category="done" if n % 2 == 0 else "new",
                    occurred_at=1000.0 + n,
                )
                [recorded] = inbound.add_changes([change], integration_id=integration_id, delivery_id=None)
                db.session.commit()
                change_id = recorded.id
                db.session.remove()
                statements: list[str] = []

                def count(*args: object, into: list[str] = statements) -> None:
                    into.append(str(args[2]))

                event.listen(db.engine, "before_cursor_execute", count)
                started = time.perf_counter()
                inbound.apply_one(change_id)
                elapsed = time.perf_counter() - started
                event.remove(db.engine, "before_cursor_execute", count)
                state = db.session.get(m.InboundChange, change_id).state
                assert state == "applied", state
                counts.append(len(statements))
                if os.environ.get("BENCH_SHOW_SQL") and n == 1:
                    print(size, *[" ".join(x.split())[:110] for x in statements], sep="\n    ")
                times.append(elapsed * 1000)
            results[size] = (statistics.median(counts), statistics.median(times))
    return results


if __name__ == "__main__":
    main()
