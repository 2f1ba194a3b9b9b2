"""Inbound sync cost as the number of issues linked to one ticket grows.

A provider reports "ticket K is done"; every hub issue linked to K in every org that syncs is
resolved. The core promises a constant number of SQL statements per webhook however many issues
are linked. This prints, for 1 linked issue (the baseline, measured in the same run) and for
larger fan-outs: SQL statements per webhook, milliseconds per webhook, and the ratio of each to the
baseline. Run: ``python bench/inbound_sync.py [--sizes 1,10,100,500] [--repeat 5]``.

Uses a throwaway SQLite database and the Tracker test plugin (tests/thirdparty/hub-tracker); needs
a Redis only for the app's queue object (nothing is enqueued: inbound changes are never echoed).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,100,500")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]

    from hub.app import create_app
    from hub.extensions import db
    from hub.testing import TEST_ENCRYPTION_KEY, Factories

    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    app = create_app({
        "HUB_DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite'}", "HUB_REDIS_URL": "redis://127.0.0.1:1/0",
        "HUB_SECRET_KEY": "bench", "HUB_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY, "HUB_LOG_LEVEL": "WARNING",
    })
    with app.app_context():
        db.create_all()
        f = Factories(app)
        s = f.setup()
        tracker = f.integration(s["org"], "tracker", "site-1", {"base_url": "http://t", "webhook_token": "w"},
                                config={"sync_status_reverse": True})
        client = app.test_client()
        headers = {"X-Tracker-Site": "site-1", "X-Tracker-Token": "w"}
        results = []
        for size in sizes:
            key = f"K-{size}"
            groups = [f.group(s["project"], message=f"error {size}-{i}") for i in range(size)]
            ext = f.link(groups[0], tracker, key)
            from hub import models as m

            db.session.add_all(m.GroupLink(group_id=g.id, external_issue_id=ext.id) for g in groups[1:])
            db.session.commit()
            timings, statements = [], []
            for round_ in range(args.repeat):
                count = [0]

                def on_execute(*_: object, count: list[int] = count) -> None:
                    count[0] += 1

                status, category = ("closed", "done") if round_ % 2 == 0 else ("open", "new")
                body = {"key": key, "status": status, "category": category,
                        "from_category": "new" if category == "done" else "done", "timestamp": round_}
                event.listen(db.engine, "before_cursor_execute", on_execute)
                started = time.perf_counter()
                r = client.post("/extensions/tracker/hook/", json=body, headers=headers)
                timings.append((time.perf_counter() - started) * 1000)
                event.remove(db.engine, "before_cursor_execute", on_execute)
                assert r.status_code == 200 and len(r.json["changed"]) == size, r.json
                statements.append(count[0])
            results.append((size, statistics.median(statements), statistics.median(timings)))
    base_statements, base_ms = results[0][1], results[0][2]
    print(
        f"{'linked issues':>14} {'SQL/webhook':>12} {'ratio':>7} {'ms/webhook':>11} {'ratio':>7}"
        f" {'ms/issue':>9}"
    )
    for size, stmts, ms in results:
        print(f"{size:>14} {stmts:>12.0f} {stmts / base_statements:>7.2f} {ms:>11.1f} {ms / base_ms:>7.2f} "
              f"{ms / size:>9.2f}")


if __name__ == "__main__":
    main()
