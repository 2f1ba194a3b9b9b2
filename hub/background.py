"""A daemon thread of the process's own that runs a piece of work each time it is asked.

The webhook ack and SQLite's writer turn hand slow work (a Redis call, a WAL checkpoint) to such a
thread so that no request waits for it. Each process starts its own on its first ask (gunicorn
forks its workers after the app is made, and a thread does not survive a fork).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("hub.background")


class Signalled:
    """Runs ``work`` on a daemon thread each time :meth:`ask` is called; asks that come while it runs
    are served by the next run (one run for a burst), at most one run every ``pause`` seconds."""

    def __init__(self, name: str, work: Callable[[], None], pause: float = 0.0) -> None:
        self.name = name
        self._work = work
        self._pause = pause
        self._due = threading.Event()
        self._start = threading.Lock()
        self._pid = 0
        self.done = 0  #: runs finished in this process (a test waits on it)

    def ask(self) -> None:
        """Have the work run soon; never blocks, and raises nothing."""
        if self._pid != os.getpid():
            with self._start:
                if self._pid != os.getpid():
                    threading.Thread(target=self._run, name=self.name, daemon=True).start()
                    self._pid = os.getpid()
        self._due.set()

    def _run(self) -> None:
        while True:
            self._due.wait()
            self._due.clear()
            try:
                self._work()
            except Exception:  # the thread must outlive any error: the next ask runs the work again
                logger.exception("background.failed", extra={"background": self.name})
            self.done += 1
            if self._pause:
                time.sleep(self._pause)
