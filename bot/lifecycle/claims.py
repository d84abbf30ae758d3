"""One daily sweep, however many replicas and chores (§14, §15): the sweep of a UTC day is claimed in the state
store with a conditional insert, so the first to claim it runs it and every other finds it taken.

A replica that dies after claiming loses that day's sweep; the next day's sweep finds everything it would have
(nothing is lost by sweeping a day late), which is better than two sweeps racing each other on one day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.domain.ports import StateStore
from bot.domain.times import iso, utc_now

KIND = "sweep"


class DailyClaims:
    def __init__(self, store: StateStore, *, clock: Callable[[], datetime] = utc_now):
        self._store = store
        self._clock = clock

    def today(self) -> str:
        return self._clock().strftime("%Y-%m-%d")

    def claim(self, by: str) -> str | None:
        """Today's UTC date when this caller won today's sweep, else None (taken already)."""
        day = self.today()
        return day if self._store.create(KIND, day, {"by": by, "at": iso(self._clock())}) else None

    def claimed(self, day: str) -> bool:
        return self._store.get(KIND, day) is not None
