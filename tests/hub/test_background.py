"""A process's own background thread (hub/background.py): a burst of asks is served by few runs, an
error does not end the thread, and a forked process runs the work on a thread of its own."""

from __future__ import annotations

import multiprocessing
import threading
import time

from hub.background import Signalled


def _wait_for(predicate, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_a_burst_of_asks_is_served_by_a_run_after_the_last_and_an_error_ends_nothing():
    runs: list[int] = []
    release = threading.Event()

    def work() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            release.wait(5)  # the asks below come while the first run is busy
            raise RuntimeError("the work failed")

    thread = Signalled("test-signalled", work)
    thread.ask()
    assert _wait_for(lambda: len(runs) == 1)
    for _ in range(50):
        thread.ask()
    release.set()
    assert _wait_for(lambda: thread.done == 2)  # the failed run, then one more for all 50 asks
    time.sleep(0.1)
    assert len(runs) == 2
    thread.ask()  # the thread outlived the error
    assert _wait_for(lambda: thread.done == 3)




def test_a_forked_process_runs_the_work_on_a_thread_of_its_own():
    seen: list[int] = []
    parent = Signalled("test-parent", lambda: seen.append(1))
    parent.ask()
    assert _wait_for(lambda: parent.done == 1)
    queue = multiprocessing.get_context("fork").Queue()
    process = multiprocessing.get_context("fork").Process(target=_fork_ask, args=(parent, queue))
    process.start()
    assert queue.get(timeout=10) is True  # the parent's thread did not come along: the child started one
    process.join(10)
    assert seen == [1]  # the child's run happened in the child only


def _fork_ask(parent: Signalled, queue) -> None:
    before = parent.done
    parent.ask()
    queue.put(_wait_for(lambda: parent.done == before + 1))
