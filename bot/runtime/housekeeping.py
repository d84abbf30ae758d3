"""Housekeeping: chores that run on a schedule of durations (never on a Slack listener thread)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Chore:
    """One recurring job: run at start (or `delay` seconds after), then at most once per `every` seconds."""

    name: str
    every: float
    run: Callable[[], object]
    delay: float = 0.0


class Housekeeping:
    def __init__(self, chores: list[Chore], *, tick: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self._chores = chores
        self._tick = tick
        self._clock = clock
        self._due: dict[str, float] = {chore.name: clock() + chore.delay for chore in chores if chore.delay}

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self._tick):
            self.run_due()

    def run_due(self) -> list[str]:
        """Run every chore whose time has come; one failing chore neither stops the others nor the loop."""
        ran = []
        for chore in self._chores:
            now = self._clock()
            if now < self._due.get(chore.name, float("-inf")):
                continue
            self._due[chore.name] = now + chore.every
            ran.append(chore.name)
            try:
                chore.run()
            except Exception:  # noqa: BLE001 - the loop must outlive one bad round, with the traceback logged
                log.exception("housekeeping.failed chore=%s", chore.name)
        return ran
