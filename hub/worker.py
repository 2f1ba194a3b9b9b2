"""The worker: a real RQ worker that runs each job inside the hub app, with the periodic work beside it.

``hub worker`` runs :func:`run_worker`; ``rq worker --worker-class hub.rq_worker.HubWorker --serializer
rq.serializers.JSONSerializer --url <HUB_REDIS_URL> <HUB_QUEUE_NAME>`` runs the same class under RQ's own
command (:mod:`hub.rq_worker` builds the app from the environment there). Either way the worker is
registered in Redis while it runs (``rq info``, ``rq.Worker.all()``, rq-dashboard see it), and
:data:`hub.jobs.PERIODIC` (the outbox relay, ...) runs every poll in a thread beside it, in the app
context, also while Redis is down: what waits in the database waits safely.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.serializers import JSONSerializer

from hub.extensions import current_app_object, db

logger = logging.getLogger("hub.worker")


def run_periodic(app: Flask) -> None:
    """One pass of :data:`hub.jobs.PERIODIC`, each task in its own app context; a failing task is
    logged and the others still run."""
    from hub.jobs import PERIODIC

    for task in PERIODIC:
        with app.app_context():
            try:
                task()
            except Exception:
                name = getattr(task, "__name__", repr(task))
                logger.exception("worker.periodic-failed", extra={"task": name})
            finally:
                db.session.remove()


class Periodic(threading.Thread):
    """Runs :func:`run_periodic` every ``poll`` seconds until stopped; after ``max_passes`` passes, or
    once ``until()`` is true, it calls ``on_done`` (which stops the worker)."""

    def __init__(self, app: Flask, poll: float, *, max_passes: int | None = None,
                 until: Callable[[], bool] | None = None, on_done: Callable[[], None] | None = None) -> None:
        super().__init__(name="hub-periodic", daemon=True)
        self.app, self.poll, self.max_passes, self.until, self.on_done = app, poll, max_passes, until, on_done
        self.stopped = threading.Event()
        self.passes = 0

    def run(self) -> None:
        while not self.stopped.is_set():
            run_periodic(self.app)
            self.passes += 1
            if self._done():
                if self.on_done is not None:
                    self.on_done()
                return
            self.stopped.wait(self.poll)

    def _done(self) -> bool:
        if self.max_passes is not None and self.passes >= self.max_passes:
            return True
        if self.until is None:
            return False
        with self.app.app_context():
            try:
                return bool(self.until())
            finally:
                db.session.remove()

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=30)


class AppWorker(SimpleWorker):
    """RQ's worker with the hub app: each job runs in a fresh app context (its own database session).

    Jobs run in the worker's process (no fork per job): the app, its plugins and its connection pool
    are built once. With ``periodic`` (as under ``rq worker``) :meth:`work` runs the periodic tasks
    beside it; :func:`run_worker` runs them itself, so they go on across Redis outages.
    """

    def __init__(self, *args: Any, app: Flask, periodic: bool = True, poll: float = 0.5,
                 **kwargs: Any) -> None:
        self.app = app
        self.periodic = periodic
        self.poll = poll
        self.jobs_run = 0
        self.signalled = False
        kwargs.setdefault("serializer", JSONSerializer)
        super().__init__(*args, **kwargs)

    def request_stop(self, signum: int, frame: Any) -> None:
        """SIGTERM/SIGINT: RQ's warm shutdown (the job at hand finishes first), noted for run_worker."""
        self.signalled = True
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]  # rq leaves it unannotated

    def execute_job(self, job: Job, queue: Queue) -> Any:
        with self.app.app_context():
            try:
                return super().execute_job(job, queue)
            finally:
                self.jobs_run += 1
                db.session.remove()

    def work(self, burst: bool = False, *args: Any, **kwargs: Any) -> bool:
        if not self.periodic:
            return bool(super().work(burst, *args, **kwargs))
        if burst:  # what is due goes on the queue first, then the queue is drained
            run_periodic(self.app)
            return bool(super().work(burst, *args, **kwargs))
        beside = Periodic(self.app, self.poll)
        beside.start()
        try:
            return bool(super().work(burst, *args, **kwargs))
        finally:
            beside.stop()


def run_worker(*, burst: bool = False, poll: float = 0.5, max_loops: int | None = None,
               outage_delay: float = 1.0, until: Callable[[], bool] | None = None) -> int:
    """Run an :class:`AppWorker` on the app's queue, with the periodic work beside it, until SIGTERM or
    SIGINT (once with ``burst``). Returns how many jobs ran.

    While Redis is down the worker waits (backing off up to 30 s) and starts again when Redis is back;
    the periodic tasks go on meanwhile. ``max_loops`` (periodic passes) and ``until`` (a check run
    after each pass) stop it too: for tests and scripts. The signal handlers in place before are put
    back when it returns.
    """
    from hub.queue import get_queue, safe_url, state

    app = current_app_object()
    qs = state()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    stopping = threading.Event()
    running: dict[str, AppWorker | None] = {"worker": None}
    jobs_run = 0

    def _request_stop(signum: int = signal.SIGTERM, frame: Any = None) -> None:
        stopping.set()

    def _stop_from_periodic() -> None:
        stopping.set()
        if running["worker"] is not None:  # RQ's handler stops it: at once when idle, after the job if busy
            os.kill(os.getpid(), signal.SIGTERM)

    def _new_worker() -> AppWorker:
        return AppWorker([get_queue()], connection=qs.redis, app=app, periodic=False, poll=poll)

    if burst:
        run_periodic(app)
        try:
            qs.redis.ping()
            once = _new_worker()
            once.work(burst=True, logging_level="WARNING")
            jobs_run = once.jobs_run
        except redis.RedisError as e:
            logger.warning("worker.redis-unavailable",
                           extra={"error": type(e).__name__, "redis": safe_url(qs.url)})
        finally:
            _restore(previous)
        return jobs_run

    for sig in previous:
        signal.signal(sig, _request_stop)
    beside = Periodic(app, poll, max_passes=max_loops, until=until, on_done=_stop_from_periodic)
    beside.start()
    logger.info("worker.started", extra={"queue": app.config["HUB_QUEUE_NAME"]})
    delay = outage_delay
    try:
        while not stopping.is_set():
            worker = None
            try:
                qs.redis.ping()
                qs.mark_up()
                worker = _new_worker()
                running["worker"] = worker
                if stopping.is_set():
                    break
                worker.work(logging_level="WARNING")  # returns on SIGTERM/SIGINT, or when Redis failed it
                delay = outage_delay
            except redis.RedisError as e:
                logger.warning("worker.redis-unavailable", extra={
                    "error": type(e).__name__, "redis": safe_url(qs.url), "retry_in_s": delay})
            finally:
                running["worker"] = None
                if worker is not None:
                    jobs_run += worker.jobs_run
                    if worker.signalled:
                        stopping.set()  # RQ's handler took the signal
                for sig in previous:  # RQ's work() leaves its own handlers behind: ours again
                    signal.signal(sig, _request_stop)
            if not stopping.is_set():
                stopping.wait(delay)
                delay = min(delay * 2, 30.0)
    finally:
        beside.stop()
        _restore(previous)
        db.session.remove()
    return jobs_run


def _restore(previous: dict[signal.Signals, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
