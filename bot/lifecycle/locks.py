"""Rollouts and sweeps exclude each other per image (§14, issue 13 item 5): one lock record per image in the
state store, taken with a conditional create and an expiry, taken over once expired, released after.

The sweep holds an image's lock around each re-check and deregistration, and notes each AMI it deregistered; a
rollout holds it while it takes its target and writes its record, and while it makes its launch template version
and instance refresh. So an AMI a rollout is about to use is either seen by the sweep's re-check (the target's
lock, the rollout's record, its launch template version), or was deregistered before: then the rollout, whose
own check of the AMI came earlier, is refused under the lock with that reason. A rollout never fails because a
sweep runs: it waits, at most until the sweep's hold expires, and takes the lock over then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from bot.domain.errors import BadRequest, BakeryError
from bot.domain.ports import StateStore
from bot.domain.times import iso, parse_time, utc_now

log = logging.getLogger(__name__)

KIND = "image-lock"
GONE = "ami-deregistered"  # AMI id -> when the sweep deregistered it: a rollout checked before is refused after
HOLD_SECONDS = 60.0  # far longer than one re-check and deregistration; a crashed holder's lock expires after it
POLL_SECONDS = 0.1


class ImageBusy(BakeryError):
    """Another holder (a sweep, a rollout) has the image's lock and did not let go in time."""


class AmiDeregistered(BadRequest):
    """The AMI a rollout was about to write was deregistered by the lifecycle sweep since the rollout checked it."""


class ImageLocks:
    def __init__(
        self,
        store: StateStore,
        *,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        hold_seconds: float = HOLD_SECONDS,
    ):
        self._store = store
        self._clock = clock
        self._sleep = sleep
        self._hold = hold_seconds

    @contextmanager
    def held(self, image: str, holder: str, *, wait: float) -> Iterator[None]:
        """Hold `image`'s lock for the block; ImageBusy when another holder keeps it for longer than `wait`."""
        version = self._take(image, holder, wait)
        try:
            yield
        finally:
            self._store.delete(KIND, image, expected_version=version)

    @contextmanager
    def for_rollout(self, image: str, holder: str, ami_id: str = "") -> Iterator[None]:
        """What a rollout holds: it waits out a sweep's hold (at most until it expires), so it never fails because
        a sweep runs. Its AMI (when given) checked against what the sweep deregistered while the rollout waited."""
        with self.held(image, holder, wait=self._hold + 5.0):
            gone = self._store.get(GONE, ami_id) if ami_id else None
            if gone is not None:
                raise AmiDeregistered(
                    f"AMI `{ami_id}` was deregistered by the lifecycle sweep at {gone.doc.get('at')}; "
                    "it can no longer be rolled out."
                )
            yield

    def mark_deregistered(self, ami_id: str) -> None:
        """Said by the sweep, holding the image's lock, once an AMI is gone (for rollouts that checked it before)."""
        self._store.create(GONE, ami_id, {"at": iso(self._clock())})

    def holder(self, image: str) -> str | None:
        rec = self._store.get(KIND, image)
        return str(rec.doc.get("holder")) if rec else None

    def _take(self, image: str, holder: str, wait: float) -> int:
        deadline = self._clock() + timedelta(seconds=wait)
        waited = False
        while True:
            now = self._clock()
            doc = {"holder": holder, "since": iso(now), "expires": iso(now + timedelta(seconds=self._hold))}
            if self._store.create(KIND, image, doc):
                if waited:
                    log.info("image_lock.taken image=%s holder=%s after_wait=yes", image, holder)
                return 1
            rec = self._store.get(KIND, image)
            if rec is None:
                continue  # released a moment ago
            if _expired(rec.doc, now):
                # Its holder died holding it (or overran): take it over, conditionally, so only one does.
                log.warning("image_lock.expired image=%s holder=%s", image, rec.doc.get("holder"))
                if self._store.replace(KIND, image, doc, expected_version=rec.version):
                    return rec.version + 1
                continue
            if now >= deadline:
                raise ImageBusy(f"`{image}` is busy ({rec.doc.get('holder')} since {rec.doc.get('since')})")
            waited = True
            self._sleep(POLL_SECONDS)


def _expired(doc: dict[str, object], now: datetime) -> bool:
    try:
        return parse_time(str(doc.get("expires"))) <= now
    except ValueError:
        return True
