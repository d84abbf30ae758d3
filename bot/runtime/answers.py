"""Answers to Slack requests, computed off the listener so no remote call holds an acknowledgement.

With `process_before_response`, Slack gets its acknowledgement only when the listener returns, and a service
call may reach Slack (users.info, usergroups.users.list), EC2 or the state store, any of which can be slow or
throttled. So a listener hands that work to this small pool of its own: `later` for clicks, whose
acknowledgement carries nothing, and `within` for answers that can ride on the acknowledgement when they come
quickly. A late answer is never lost and never given twice: it is handed on once, to `late`, on the pool.

The pool is not the bake workers: those wait for the foreground to be quiet (bot/runtime/foreground.py),
and a listener waiting on them would wait on itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
BUDGET_SECONDS = 0.5  # well inside the ~1 s an acknowledgement may take, with room for Bolt and the network
WORKERS = 8


class Answers:
    def __init__(self, *, budget: float = BUDGET_SECONDS, workers: int = WORKERS):
        self._budget = budget
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="answer")
        self._pending = 0
        self._lock = threading.Lock()

    def within(self, work: Callable[[], T], late: Callable[[T], None]) -> T | None:
        """`work()`'s result if it is ready within the budget; else None, and `late(result)` once it is.

        An exception `work` raises within the budget is raised here; a later one is logged with its traceback.
        """
        future = self._submit(work)
        try:
            return future.result(timeout=self._budget)
        except FutureTimeout:
            pass
        with self._lock:
            self._pending += 1  # the late answer is owed from now, so the bot never looks idle in between

        def hand_on(done: Future[T]) -> None:
            # Runs on the pool thread that finished the work, or here at once if it finished just now:
            # either way the late answer itself goes to the pool.
            try:
                self._pool.submit(self._counted_down, lambda: late(done.result()))
            except RuntimeError:  # the pool is shutting down (stop waits for this very thread): answer here
                self._counted_down(lambda: late(done.result()))

        future.add_done_callback(hand_on)
        return None

    def later(self, work: Callable[[], None]) -> None:
        """Run `work` after the acknowledgement, on the pool."""
        with self._lock:
            self._pending += 1
        self._pool.submit(self._counted_down, work)

    def pending(self) -> int:
        """Answers not yet given (for /healthz and for tests waiting until the bot is idle)."""
        with self._lock:
            return self._pending

    def stop(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)

    def _submit(self, work: Callable[[], T]) -> Future[T]:
        def counted() -> T:
            try:
                return work()
            finally:
                with self._lock:
                    self._pending -= 1

        with self._lock:
            self._pending += 1
        return self._pool.submit(counted)

    def _counted_down(self, work: Callable[[], None]) -> None:
        try:
            work()
        except Exception:  # noqa: BLE001 - nobody waits on this job: log it with its traceback, keep the pool
            log.exception("answer.failed")
        finally:
            with self._lock:
                self._pending -= 1
