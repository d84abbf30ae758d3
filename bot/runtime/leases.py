"""Leadership of a background loop among replicas: one lease in the state store, renewed, taken over when lapsed.

A `Leadership` acquires its lease and renews it every `renew_every` seconds in a thread of its own. It holds
the lease only until a local deadline, a safety margin before the lease's expiry, measured on the monotonic
clock: a process that was paused (SIGSTOP, a stalled host) wakes past that deadline and knows at once that it
no longer leads, before it renews or writes anything. Work done through `lead` runs under `fenced(...)`, so even
a write already on its way when the lease lapsed is refused by the store (bot.domain.fencing).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.domain.errors import BakeryError
from bot.domain.fencing import Fence, FenceLost, LeaseGrant, fenced
from bot.domain.ports import StateStore

log = logging.getLogger(__name__)

DEFAULT_TTL = 15.0
# Of a lease's length, the part held back locally: renewals late by a GC pause or a slow store call, and
# clocks apart by up to this much, never leave two replicas believing they lead.
SAFETY = 0.2


@dataclass(frozen=True)
class LeaseTimes:
    """How long a lease lasts, how often its holder renews it, how often the leader looks for orphaned work.

    `holder` names this replica in the leases (default: `replica_id()`); `clock` is the local monotonic clock
    a Leadership measures its deadline on (tests move it to play a paused process).
    """

    ttl: float = DEFAULT_TTL
    renew_every: float = 5.0
    recover_every: float = 60.0
    holder: str | None = None
    clock: Callable[[], float] = time.monotonic

    def problems(self) -> list[str]:
        """Lengths that would leave two replicas leading at once, or none at all."""
        if self.ttl <= 0 or self.renew_every <= 0 or self.recover_every <= 0:
            return ["lease lengths must be positive"]
        if self.renew_every >= self.ttl * (1 - SAFETY):
            return [f"a lease of {self.ttl:g}s renewed every {self.renew_every:g}s lapses locally before its renewal"]
        return []


_REPLICA = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def replica_id() -> str:
    """This process among the replicas: host, pid and a random part (pids repeat across containers)."""
    return _REPLICA


class Leadership:
    def __init__(
        self,
        store: StateStore,
        name: str,
        *,
        holder: str | None = None,
        ttl: float = DEFAULT_TTL,
        renew_every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        if ttl <= 0:
            raise ValueError("a lease needs a positive length")
        self.name = name
        self._store = store
        self._holder = holder or replica_id()
        self._ttl = ttl
        self._renew_every = renew_every if renew_every is not None else ttl / 3
        self._clock = clock
        self._lock = threading.Lock()
        self._grant: LeaseGrant | None = None
        self._deadline = float("-inf")
        self._changed = threading.Condition(self._lock)

    @property
    def holder(self) -> str:
        return self._holder

    def fence(self) -> Fence | None:
        """The fence to write under while this replica leads; None when it does not (or no longer surely does)."""
        with self._lock:
            if self._grant is None or self._clock() >= self._deadline:
                return None
            return Fence.of(self._grant)

    def held(self) -> bool:
        return self.fence() is not None

    def step(self) -> bool:
        """Acquire or renew once; True when this replica leads afterwards. Never raises for store trouble."""
        started = self._clock()
        with self._lock:
            grant, deadline = self._grant, self._deadline
        try:
            fresh = self._store.renew_lease(grant, self._ttl) if grant is not None and started < deadline else None
            if fresh is None:  # not held, or the renewal found it lapsed or handed back: try for it now
                fresh = self._store.acquire_lease(self.name, self._holder, self._ttl)
        except BakeryError as exc:
            # Unreachable store: keep what we hold until its local deadline, no longer.
            log.warning("lease.renew_failed lease=%s error=%s", self.name, exc)
            return self.held()
        with self._lock:
            was = self._grant
            self._grant = fresh
            self._deadline = started + self._ttl * (1 - SAFETY) if fresh else float("-inf")
            self._changed.notify_all()
        if fresh is not None and (was is None or was.token != fresh.token):
            log.info("lease.acquired lease=%s holder=%s token=%d", self.name, self._holder, fresh.token)
        elif fresh is None and was is not None:
            log.warning("lease.lost lease=%s holder=%s token=%d", self.name, self._holder, was.token)
        return fresh is not None

    def run(self, stop: threading.Event) -> None:
        """Keep the lease (or keep trying for it) until `stop`; then hand it back so another replica leads at once."""
        while not stop.is_set():
            self.step()
            stop.wait(self._renew_every)
        self.release()

    def release(self) -> None:
        with self._lock:
            grant, self._grant, self._deadline = self._grant, None, float("-inf")
            self._changed.notify_all()
        if grant is None:
            return
        try:
            if self._store.release_lease(grant):
                log.info("lease.released lease=%s holder=%s token=%d", self.name, self._holder, grant.token)
        except BakeryError as exc:
            log.warning("lease.release_failed lease=%s error=%s", self.name, exc)

    def lost(self) -> None:
        """Forget the lease at once (a fenced write found it gone)."""
        with self._lock:
            self._grant, self._deadline = None, float("-inf")

    def lead(self, stop: threading.Event, body: Callable[[], Any], *, idle: float = 0.5) -> None:
        """Run `body()` over and over, fenced, while this replica leads; wait while it does not."""
        while not stop.is_set():
            fence = self.fence()
            if fence is None:
                with self._lock:
                    self._changed.wait(timeout=idle)
                continue
            try:
                with fenced(fence):
                    body()
            except FenceLost:
                log.warning("lease.fence_lost lease=%s holder=%s token=%d", self.name, fence.holder, fence.token)
                self.lost()
