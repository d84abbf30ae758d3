"""The bake workers: a small thread pool for slow work (git, AWS, Slack answers), never a Slack listener."""

from __future__ import annotations

import contextvars
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bot.domain.errors import ShuttingDown
from bot.runtime.foreground import Foreground

log = logging.getLogger(__name__)


def _lower_priority() -> None:
    """Bake workers (and the git processes they start, which inherit it) yield the CPU to Slack acks.

    On Linux a thread has its own nice value; elsewhere this is a no-op.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass


class BakeWorkers:
    """Runs jobs in the background, counting the ones not yet finished (health, graceful shutdown).

    A job submitted after `shutdown` began is refused with ShuttingDown, never silently dropped, and the
    count always comes back to zero: it is raised before the job is queued and lowered when it ends.
    """

    def __init__(self, *, workers: int, foreground: Foreground):
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="bake-worker", initializer=_lower_priority
        )
        self._foreground = foreground
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._closed = False

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            if self._closed:
                raise ShuttingDown("The bot is shutting down; please try again in a minute.")
            self._pending += 1
            # Under the lock: shutdown() cannot close the pool between the check and the submit. In the
            # submitter's context: a job keeps the ids bound for its logs and the lease fence of a led loop.
            self._executor.submit(contextvars.copy_context().run, self._run, job)

    def _run(self, job: Callable[[], None]) -> None:
        try:
            self._foreground.wait_quiet()
            job()
        except Exception:  # noqa: BLE001 - a worker must log, not die silently
            log.exception("worker.job_failed")
        finally:
            with self._lock:
                self._pending -= 1
                self._idle.notify_all()

    @property
    def pending(self) -> int:
        with self._lock:
            return self._pending

    def shutdown(self, timeout: float | None = None) -> int:
        """Refuse new jobs, then wait for the queued and running ones to finish (at most `timeout` seconds).

        Returns how many are still unfinished (0 without a timeout).
        """
        with self._lock:
            self._closed = True
        if timeout is None:
            self._executor.shutdown(wait=True, cancel_futures=False)
            return 0
        self._executor.shutdown(wait=False, cancel_futures=False)
        with self._idle:
            self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)
            return self._pending
