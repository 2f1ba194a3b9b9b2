"""What the benches share: free ports, a throwaway database."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def database(url: str | None, workdir: Path) -> Iterator[str]:
    """A throwaway database: a SQLite file in ``workdir``, or a new database on ``url``'s server
    (dropped after), so each run starts from ``hub db upgrade`` with this run's keys."""
    if not url:
        yield f"sqlite:///{workdir / 'hub.sqlite'}"
        return
    import sqlalchemy as sa

    name = f"hub_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
