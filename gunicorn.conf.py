"""Gunicorn's settings for the hub: read when gunicorn starts in this folder, else give
``gunicorn -c <checkout>/gunicorn.conf.py``. Command-line options still win over these.

``reuse_port``: each worker listens on a socket of its own (``SO_REUSEPORT``), so the kernel spreads
new connections across the workers. On one shared socket a ``gthread`` worker accepts every
connection it can, and keep-alive clients (a reverse proxy's pool of upstream connections, a load
generator) then stay with whichever worker woke first: under a burst of webhooks one worker ran at
its GIL's limit while the other idled. Measured with ``bench/webhook_ack.py`` (``-w 2 --threads 4``,
32 keep-alive connections): 200-480 acks/s from run to run on one socket, 505-540 with a socket per
worker. A side effect to know: a second gunicorn started on the same port with this setting serves
beside the first instead of failing with "address in use".
"""

from typing import Any

reuse_port = True


def when_ready(server: Any) -> None:
    """Name the addresses once more: with a socket per worker, gunicorn's own "Listening at:" line
    (written before any worker binds) lists none."""
    urls = [b if b.startswith(("unix:", "fd://")) else f"http://{b}" for b in server.cfg.bind]
    server.log.info("Listening at: %s (%s), a socket per worker", ",".join(urls), server.pid)
