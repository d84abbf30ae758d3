"""Leases and fences: how a replica that leads a loop proves, on every write, that it still leads it.

A lease is a record in the state store naming its holder, a fencing token and an expiry. The holder renews
it; when it lapses another replica takes it over with the next token. Work a leader does runs inside
`fenced(fence)`: every state store write made there is conditional on the lease still naming that holder and
token and not having expired, checked by the store in the same atomic write. So a leader that was paused
(SIGSTOP, a long GC, a lost network) and wakes after its lease went to another replica cannot write
anything: its first write raises FenceLost and changes nothing.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bot.domain.errors import BakeryError

LEASE = "lease"  # the state store kind of lease records


@dataclass(frozen=True)
class LeaseGrant:
    """A lease as the store holds it: `expires_at` is wall-clock seconds since the epoch."""

    name: str
    holder: str
    token: int
    expires_at: float


@dataclass(frozen=True)
class Fence:
    """What a fenced write is conditional on: lease `name` held by `holder` with `token`, not expired."""

    name: str
    holder: str
    token: int

    @classmethod
    def of(cls, grant: LeaseGrant) -> Fence:
        return cls(grant.name, grant.holder, grant.token)


class FenceLost(BakeryError):
    """A fenced write found its lease gone (expired, or taken over): nothing was written."""

    def __init__(self, fence: Fence):
        super().__init__(f"lease {fence.name} is no longer held by {fence.holder} with token {fence.token}")
        self.fence = fence


_current: contextvars.ContextVar[Fence | None] = contextvars.ContextVar("bakery_fence", default=None)


def current_fence() -> Fence | None:
    """The fence the state store applies to writes made in this context, if any."""
    return _current.get()


@contextmanager
def fenced(fence: Fence | None) -> Iterator[None]:
    """Make every state store write in this block conditional on `fence` (None: unfenced)."""
    token = _current.set(fence)
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def unfenced() -> Iterator[None]:
    """Writes that must not depend on a lease (the lease calls themselves)."""
    with fenced(None):
        yield


# A guard: what a leader checks before each call to the outside world that no store write fences (Slack). It
# raises FenceLost once the lease is gone. Adapters that retry inside one call (slack_sdk waits out a 429's
# Retry-After and sends again) check it before each resend: a leader paused during the wait sends nothing stale.
_guard: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar("bakery_guard", default=None)


@contextmanager
def guarded(check: Callable[[], None]) -> Iterator[None]:
    token = _guard.set(check)
    try:
        yield
    finally:
        _guard.reset(token)


def check_guard() -> None:
    """Raise FenceLost when the context's leader no longer leads; nothing outside a guarded block."""
    check = _guard.get()
    if check is not None:
        check()
