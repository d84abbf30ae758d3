"""Loops that run on one replica at a time: each under a named lease in the state store, its writes fenced.

A `Led(name, round)` loop calls `round(stop)` over and over inside `fenced(...)` while this replica holds the
lease (by default the loop's own name), and waits while another replica does. `Leases` keeps one Leadership
per lease name, takes each once at start (a single replica leads at once: start-up never waits for a renewal
period), renews each in a thread of its own, and hands them all back on stop so another replica leads at once
rather than after the lease's length.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.ports import StateStore
from bot.runtime.leases import Leadership, LeaseTimes, replica_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Led:
    """Loop `name`, run by whichever replica holds lease `lease` (default: `name`).

    `round(stop)` should come back within a second or so (wait on `stop`, never sleep): the lease is looked at
    between rounds, and a round that finds its fence gone (FenceLost) ends there, writing nothing more.
    """

    name: str
    round: Callable[[threading.Event], object]
    lease: str = ""

    @property
    def lease_name(self) -> str:
        return self.lease or self.name


class Leases:
    def __init__(self, store: StateStore, times: LeaseTimes):
        self._store = store
        self._times = times
        self.holder = times.holder or replica_id()
        self._held: dict[str, Leadership] = {}
        self._stop = threading.Event()
        self._stepping = threading.Lock()  # a renewal in progress ends before the leases are handed back
        self._threads: list[threading.Thread] = []

    def leadership(self, name: str) -> Leadership:
        """The Leadership of lease `name`, made on first use (loops on one lease share it)."""
        if name not in self._held:
            self._held[name] = Leadership(
                self._store,
                name,
                holder=self.holder,
                ttl=self._times.ttl,
                renew_every=self._times.renew_every,
                clock=self._times.clock,
            )
        return self._held[name]

    def start(self) -> None:
        """Try for every lease once now, then keep renewing (or trying) each in its own thread."""
        for name, leadership in self._held.items():
            leadership.step()
            thread = threading.Thread(target=self._keep, args=(leadership,), name=f"lease-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _keep(self, leadership: Leadership) -> None:
        while not self._stop.wait(self._times.renew_every):
            with self._stepping:
                if not self._stop.is_set():
                    leadership.step()

    def leads(self) -> dict[str, bool]:
        """Which leases this replica holds right now (by its local deadline)."""
        return {name: leadership.held() for name, leadership in sorted(self._held.items())}

    def release(self, timeout: float = 5.0) -> None:
        """Stop renewing and hand every lease back (after a renewal in progress, which could take it again)."""
        self._stop.set()
        with self._stepping:
            for leadership in self._held.values():
                leadership.release()
        for thread in self._threads:
            thread.join(timeout=timeout)
