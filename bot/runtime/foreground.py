"""Acks first: background work (commits, Slack edits) holds back while Slack requests are being answered.

Slack wants every command and click acknowledged within 3 seconds, and all of the bot's Python shares one
GIL; a burst of /bake commands would otherwise compete with the commits and posts the burst itself starts.
Background work waits for a quiet moment, but never longer than `max_wait`, so it cannot starve.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Foreground:
    def __init__(self, *, quiet_for: float = 0.02, max_wait: float = 0.5, clock: Callable[[], float] = time.monotonic):
        self._quiet_for = quiet_for
        self._max_wait = max_wait
        self._clock = clock
        self._active = 0
        self._last_end = float("-inf")
        self._cond = threading.Condition()

    @contextmanager
    def request(self) -> Iterator[None]:
        """Wrap the handling of one Slack request."""
        with self._cond:
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._last_end = self._clock()
                self._cond.notify_all()

    def wait_quiet(self) -> None:
        """Block until no Slack request has been in flight for `quiet_for`, or `max_wait` has passed."""
        deadline = self._clock() + self._max_wait
        with self._cond:
            while True:
                now = self._clock()
                if now >= deadline:
                    return
                if self._active == 0:
                    quiet_left = self._last_end + self._quiet_for - now
                    if quiet_left <= 0:
                        return
                    self._cond.wait(min(quiet_left, deadline - now))
                else:
                    self._cond.wait(deadline - now)
