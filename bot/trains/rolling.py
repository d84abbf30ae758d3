"""A train's rollout hops (CONTRACT §12): a target with `on_release: auto` rolls as soon as a bake of its image
is released. One rollout per target at a time: when another rollout holds the target, the hop waits, and
starts once the target is free (when that rollout ends, and after a restart), once, because a train's rollout
is claimed per (train, target, bake). If a newer released bake of the image exists by then, the waiting hop
is superseded instead of rolling an older AMI: the newer bake's own release rolls the target.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from bot.bakes.images import image_summary
from bot.bakes.record import BAKE, Bake
from bot.config import Config
from bot.domain.errors import BakeryError
from bot.domain.ports import StateStore
from bot.domain.times import iso, utc_now
from bot.rollouts.book import LOCK, ROLLOUT
from bot.rollouts.errors import TargetBusy
from bot.rollouts.record import Rollout
from bot.trains.book import TrainBook
from bot.trains.record import Hop, HopKind

log = logging.getLogger(__name__)

WAIT = "train-wait"  # "<train>|<target>|<request id>" -> a rollout hop waiting for its target (indexed by target)


class RolloutOpener(Protocol):
    def open_for_train(self, *, target: str, bake: Bake, train_id: str) -> str | None:
        """Open (once per train and target) a rollout of `target` onto `bake`'s AMI; its id, or None.

        Raises TargetBusy while another rollout holds the target."""
        ...


def rollout_hop_key(target: str, request_id: str) -> str:
    return f"rollout:{target}@{request_id}"


class TrainRollouts:
    def __init__(
        self,
        *,
        config: Config,
        store: StateStore,
        trains: TrainBook,
        rollouts: Callable[[], RolloutOpener],
        revoked: Callable[[str], bool],
    ):
        self._config = config
        self._store = store
        self._trains = trains
        self._rollouts = rollouts
        self._revoked = revoked

    def roll(self, bake: Bake, target: str, train_id: str) -> None:
        """The train's hop rolling `target` onto released `bake`: opened now, or waiting for the target."""
        key = rollout_hop_key(target, bake.request_id)
        self._trains.add_hop(train_id, Hop(key=key, kind=HopKind.ROLLOUT, subject=target, parent_ref=bake.request_id))
        if self._open(bake, target, train_id) and not self._holder(target):
            # The holder ended before the wait was written, so its release found nothing to start: try once more.
            self._open(bake, target, train_id)

    def target_free(self, target: str) -> None:
        """A rollout of `target` ended: start the oldest hop waiting for it (the others wait on for that one)."""
        waits = sorted(self._store.find(WAIT, target), key=lambda r: (str(r.doc.get("since", "")), r.key))
        for rec in waits:
            self._retry(str(rec.doc["train_id"]), target, str(rec.doc["request_id"]))

    def retry_waiting(self) -> None:
        """Every waiting hop whose target is free starts (after a restart; a release whose signal was lost)."""
        for target in sorted(self._config.targets):
            self.target_free(target)

    def _retry(self, train_id: str, target: str, request_id: str) -> None:
        rec = self._store.get(BAKE, request_id)
        key = rollout_hop_key(target, request_id)
        train = self._trains.get(train_id)
        hop = train.hop(key) if train else None
        if rec is None or hop is None or hop.ref:
            self._stop_waiting(train_id, target, request_id)  # nothing left to start
            return
        bake = Bake.from_doc(rec.doc)
        newer = self._newer_release(bake)
        if newer is not None:
            self._trains.update_hop(train_id, key, lambda h: replace(h, waiting="", superseded_by=newer.request_id))
            self._stop_waiting(train_id, target, request_id)
            log.info(
                "train.rollout_superseded train_id=%s target=%s request_id=%s by=%s",
                train_id,
                target,
                request_id,
                newer.request_id,
            )
            return
        holder = self._holder(target)
        if holder:
            self._trains.update_hop(train_id, key, lambda h: replace(h, waiting=holder))
            return
        self._open(bake, target, train_id)

    def _open(self, bake: Bake, target: str, train_id: str) -> bool:
        """Open the hop's rollout; True when it waits for its target instead."""
        key = rollout_hop_key(target, bake.request_id)
        try:
            rollout_id = self._rollouts().open_for_train(target=target, bake=bake, train_id=train_id)
        except TargetBusy as busy:
            self._wait(train_id, target, bake.request_id, busy.rollout_id)
            return True
        except BakeryError:
            log.exception("train.rollout_failed request_id=%s target=%s", bake.request_id, target)
            self._stop_waiting(train_id, target, bake.request_id)
            return False
        if rollout_id:
            hop = Hop(key=key, kind=HopKind.ROLLOUT, subject=target, ref=rollout_id, parent_ref=bake.request_id)
            self._trains.add_hop(train_id, hop)
        self._stop_waiting(train_id, target, bake.request_id)
        return False

    def _wait(self, train_id: str, target: str, request_id: str, holder: str) -> None:
        wait_key = f"{train_id}|{target}|{request_id}"
        doc = {"train_id": train_id, "target": target, "request_id": request_id, "since": iso(utc_now())}
        self._store.create(WAIT, wait_key, doc, index=target)  # the first wait's time orders the waiters
        self._trains.update_hop(train_id, rollout_hop_key(target, request_id), lambda h: replace(h, waiting=holder))
        log.info(
            "train.rollout_waiting train_id=%s target=%s request_id=%s holder=%s", train_id, target, request_id, holder
        )

    def _stop_waiting(self, train_id: str, target: str, request_id: str) -> None:
        self._store.delete(WAIT, f"{train_id}|{target}|{request_id}")

    def _holder(self, target: str) -> str:
        """The rollout holding `target` now; "" when it is free (no lock, or its rollout has ended)."""
        lock = self._store.get(LOCK, target)
        held = self._store.get(ROLLOUT, str(lock.doc.get("rollout_id", ""))) if lock else None
        return "" if held is None or Rollout.from_doc(held.doc).terminal else held.key

    def _newer_release(self, bake: Bake) -> Bake | None:
        """A released, unrevoked bake of the image requested after `bake`, the newest; None if there is none."""
        summary = image_summary(self._store, bake.image)
        candidates = [summary.get("latest_request"), *(summary.get("recent") or [])]
        newer = []
        for request_id in dict.fromkeys(str(c) for c in candidates if c and c != bake.request_id):
            rec = self._store.get(BAKE, request_id)
            other = Bake.from_doc(rec.doc) if rec else None
            if other is None or not other.released or not other.amis or other.requested_at <= bake.requested_at:
                continue
            if not any(self._revoked(a.ami_id) for a in other.amis):
                newer.append(other)
        return max(newer, key=lambda b: b.requested_at, default=None)
