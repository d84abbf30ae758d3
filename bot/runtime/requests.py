"""Slack requests handled once among replicas: each request's identity is claimed in the state store first.

Slack may deliver one request more than once: an HTTP retry (`X-Slack-Retry-Num`) that may reach another
replica, or a Socket Mode envelope delivered again after a reconnect, to any of the app's connections. So the
off-listener work of every request first claims the request's identity (a conditional create of kind
`slack-request`): a slash command's or an interaction's `trigger_id`, an event's `event_id`, and over Socket
Mode the envelope's `envelope_id` as well. Only the delivery that created the claim goes on to any effect;
the others change nothing. The claim is made after the acknowledgement (it is a state store call), never
before it. Claims are indexed by day and forgotten after KEEP_DAYS by the `slack-requests` chore: Slack
retries within minutes, and a trigger_id is good for 3 seconds.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from bot.domain.ports import StateStore
from bot.domain.times import utc_now

log = logging.getLogger(__name__)

REQUEST = "slack-request"  # the state store kind of claimed request identities
KEEP_DAYS = 1
SWEEP_DAYS = 30  # how far back a sweep looks for days to forget

_envelope: contextvars.ContextVar[str] = contextvars.ContextVar("bakery_socket_envelope", default="")


@contextmanager
def socket_envelope(envelope_id: str) -> Iterator[None]:
    """While a Socket Mode envelope is dispatched: its id, which `identity_of` adds to the request's own."""
    token = _envelope.set(envelope_id)
    try:
        yield
    finally:
        _envelope.reset(token)


def identity_of(body: dict[str, Any]) -> tuple[str, ...]:
    """The keys that name one Slack request (read on the listener thread: no remote call).

    A slash command, a click or a view submission has a `trigger_id`; an Events API delivery an `event_id`;
    a Socket Mode delivery also its envelope id. Empty when Slack gave none (nothing to de-duplicate by).
    """
    keys: list[str] = []
    if trigger := str(body.get("trigger_id") or ""):
        keys.append(f"trigger:{trigger}")
    if event := str(body.get("event_id") or ""):
        keys.append(f"event:{event}")
    if envelope := _envelope.get():
        keys.append(f"envelope:{envelope}")
    return tuple(keys)


class RequestIdentities:
    def __init__(self, store: StateStore, *, today: Callable[[], date] = lambda: utc_now().date()):
        self._store = store
        self._today = today

    def first(self, keys: tuple[str, ...]) -> bool:
        """Claim a request's identity: True for the first delivery, False for any delivery after it.

        Every key is claimed; one already claimed makes this a repeat. A request with no identity is first.
        """
        day = self._today().isoformat()
        first = True
        for key in keys:
            if not self._store.create(REQUEST, key, {"day": day}, index=f"d:{day}"):
                first = False
        if not first:
            log.info("slack.duplicate_request keys=%s", ",".join(keys))
        return first

    def forget_old(self) -> int:
        """Drop claims older than KEEP_DAYS (indexed by day); returns how many."""
        today = self._today()
        forgotten = 0
        for back in range(KEEP_DAYS + 1, SWEEP_DAYS + 1):
            day = (today - timedelta(days=back)).isoformat()
            for rec in self._store.find(REQUEST, f"d:{day}"):
                forgotten += bool(self._store.delete(REQUEST, rec.key))
        if forgotten:
            log.info("slack.forgot_requests count=%d", forgotten)
        return forgotten
