"""Housekeeping: chores that run on a schedule of durations (never on a Slack listener thread)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.fencing import FenceLost

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

    @property
    def tick(self) -> float:
        return self._tick

    def add(self, chore: Chore) -> None:
        self._chores.append(chore)
        if chore.delay:
            self._due[chore.name] = self._clock() + chore.delay

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self._tick):
            self.run_due()

    def round(self, stop: threading.Event) -> None:
        """One tick of a led loop: wait a tick, then run what is due (FenceLost ends the round)."""
        if not stop.wait(self._tick):
            self.run_due()

    def run_due(self) -> list[str]:
        """Run every chore whose time has come; one failing chore neither stops the others nor the loop.

        Except FenceLost: this replica no longer leads, so no chore may go on writing; the round ends there.
        """
        ran = []
        for chore in self._chores:
            now = self._clock()
            if now < self._due.get(chore.name, float("-inf")):
                continue
            self._due[chore.name] = now + chore.every
            ran.append(chore.name)
            try:
                chore.run()
            except FenceLost:
                raise
            except Exception:  # noqa: BLE001 - the loop must outlive one bad round, with the traceback logged
                log.exception("housekeeping.failed chore=%s", chore.name)
        return ran
