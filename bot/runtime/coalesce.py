"""One job run off the caller's thread, its triggers coalesced: never two runs at once, and a trigger that
arrives while the job runs is never lost (one more run follows), however many arrive.

The upstream watch's topic messages (CONTRACT §12) come through here: the SQS consumer only schedules the
check, so a slow SSM read or a bake's commit never holds up the pipeline messages behind it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from enum import Enum

log = logging.getLogger(__name__)


class _State(Enum):
    IDLE = "idle"
    QUEUED = "queued"  # handed to run_async, not started: a trigger now is answered by that run
    RUNNING = "running"  # a trigger now must run the job once more (the run may have read too early)
    RUNNING_AGAIN = "running-again"  # one more run is owed already: later triggers add nothing


class Coalesced:
    """`trigger(why)` runs `job(why)` on `run_async`: at most one run at a time, at most one owed after it.

    A burst of triggers while a run is in progress costs one more run, with the latest `why`. `trigger`
    raises what `run_async` raises (ShuttingDown), so a caller can leave its message for a retry.
    """

    def __init__(self, job: Callable[[str], object], *, run_async: Callable[[Callable[[], None]], None], name: str):
        self._job = job
        self._run_async = run_async
        self._name = name
        self._lock = threading.Lock()
        self._state = _State.IDLE
        self._why = ""
        self.runs = 0  # how many times the job ran

    def trigger(self, why: str = "") -> None:
        with self._lock:
            self._why = why
            if self._state == _State.RUNNING:
                self._state = _State.RUNNING_AGAIN
            if self._state != _State.IDLE:
                return
            self._state = _State.QUEUED
        try:
            self._run_async(self._run)
        except BaseException:
            with self._lock:
                self._state = _State.IDLE
            raise

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._state != _State.IDLE

    def _run(self) -> None:
        again = True
        try:
            while again:
                with self._lock:
                    self._state = _State.RUNNING
                    why = self._why
                try:
                    self._job(why)
                except Exception:  # noqa: BLE001 - logged; the next trigger (or the periodic check) tries again
                    log.exception("coalesced.failed job=%s", self._name)
                with self._lock:
                    self.runs += 1
                    again = self._state == _State.RUNNING_AGAIN
                    if not again:
                        self._state = _State.IDLE
        except BaseException:  # the thread is going away: a later trigger must start afresh, not find it busy
            with self._lock:
                self._state = _State.IDLE
            raise
