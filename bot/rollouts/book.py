"""The rollouts' records and the target locks: read, change conditionally, and end a rollout.

Starting (start.py) and following (follow.py) a rollout both go through here, so a rollout is changed one way
and every change marks its message for the publisher.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.domain.errors import BakeryError, NotFound, StateConflict
from bot.domain.models import NoticeKind
from bot.domain.ports import StateStore
from bot.domain.records import rewrite_shown
from bot.domain.times import iso, utc_now
from bot.rollouts.errors import RolloutMovedOn, TargetBusy
from bot.rollouts.record import Rollout, RolloutStatus, TargetRuns, rollout_index

log = logging.getLogger(__name__)

ROLLOUT = "rollout"
LOCK = "target-lock"
OF_BAKE = "bake-rollout"  # "<request id>|<rollout id>", indexed by the request id: a bake's rollouts
RUNS = "target-runs"  # target -> TargetRuns: the last rollout onto it that succeeded
TRAIN_ROLLOUT = "train-rollout"  # "<train>|<target>|<request id>" -> the one rollout a train opens there


def rollouts_of_bake(store: StateStore, request_id: str) -> list[Rollout]:
    """The rollouts made of one bake's AMI, oldest first (its message says where that AMI runs)."""
    if not request_id:
        return []
    found = (store.get(ROLLOUT, link.doc.get("rollout_id", "")) for link in store.find(OF_BAKE, request_id))
    return sorted((Rollout.from_doc(r.doc) for r in found if r), key=lambda r: (r.requested_at, r.rollout_id))


def target_runs(store: StateStore, target: str) -> TargetRuns | None:
    rec = store.get(RUNS, target)
    return TargetRuns(**rec.doc) if rec else None


def now_runs(store: StateStore, rollout: Rollout) -> TargetRuns | None:
    """Record that a succeeded rollout's AMI is what its target runs now (idempotent; an older success
    reported late changes nothing). Returns the record as it stands."""
    if rollout.status != RolloutStatus.SUCCEEDED:
        return target_runs(store, rollout.target)
    runs = TargetRuns(rollout.target, rollout.rollout_id, rollout.request_id, rollout.ami_id, rollout.finished_at)

    def change(doc: dict[str, Any]) -> dict[str, Any] | None:
        held = TargetRuns(**doc)
        if held.rollout_id == rollout.rollout_id or held.since > rollout.finished_at:
            return None
        return dict(replace(runs, replaced_request_id=held.request_id).__dict__)

    if not store.create(RUNS, rollout.target, dict(runs.__dict__)):
        store.mutate(RUNS, rollout.target, change)
    return target_runs(store, rollout.target)


class RolloutBook:
    def __init__(
        self,
        *,
        store: StateStore,
        board: Any,
        clock: Callable[[], datetime] = utc_now,
        on_free: Callable[[str], None] = lambda target: None,
    ):
        self._store = store
        self._board = board
        self._clock = clock
        self._on_free = on_free  # called with the target once a rollout released it

    def now(self) -> str:
        return iso(self._clock())

    def get(self, rollout_id: str) -> Rollout | None:
        rec = self._store.get(ROLLOUT, rollout_id) if rollout_id.startswith("r-") and len(rollout_id) < 20 else None
        return Rollout.from_doc(rec.doc) if rec else None

    def require(self, rollout_id: str) -> Rollout:
        rollout = self.get(rollout_id)
        if rollout is None:
            raise NotFound("I do not know this rollout (it may belong to another bot or be very old).")
        return rollout

    def active(self) -> list[Rollout]:
        return [Rollout.from_doc(r.doc) for r in self._store.find(ROLLOUT, "active")]

    def create(self, rollout: Rollout) -> None:
        doc = rollout.to_doc()
        self._store.create(ROLLOUT, rollout.rollout_id, doc, index=rollout_index(doc))
        if rollout.request_id:
            link = {"rollout_id": rollout.rollout_id, "target": rollout.target}
            self._store.create(OF_BAKE, f"{rollout.request_id}|{rollout.rollout_id}", link, index=rollout.request_id)
        self.mark_dirty(rollout.rollout_id)

    def mark_dirty(self, rollout_id: str) -> None:
        self._board.mark_dirty(rollout_id)

    def mutate(self, rollout_id: str, change: Callable[[Rollout], Rollout | None]) -> Rollout | None:
        """Change the freshest copy conditionally; the new rollout, or None when nothing changed."""
        return rewrite_shown(
            self._store,
            ROLLOUT,
            rollout_id,
            load=Rollout.from_doc,
            change=change,
            index_fn=rollout_index,
            now=self.now,
            mark_dirty=self.mark_dirty,
        )

    # --- one rollout per target ----------------------------------------------------------------

    def claim_for_train(self, key: str, rollout_id: str) -> None:
        """The rollout id a train's (train, target, bake) gets: the first writer's (create-if-absent)."""
        self._store.create(TRAIN_ROLLOUT, key, {"rollout_id": rollout_id})

    def claimed_for_train(self, key: str) -> str:
        rec = self._store.get(TRAIN_ROLLOUT, key)
        if rec is None:  # created a moment ago and never deleted: the store lost a write
            raise StateConflict(f"state record {TRAIN_ROLLOUT}/{key} was written but cannot be read back")
        return str(rec.doc["rollout_id"])

    def lock(self, target: str, holder: dict[str, str]) -> None:
        for _ in range(3):
            if self._store.create(LOCK, target, holder):
                return
            rec = self._store.get(LOCK, target)
            if rec is None:
                continue
            current = self.get(rec.doc.get("rollout_id", ""))
            if current is None or current.terminal:
                # Its rollout ended but the release was lost (a crash between the two writes): take it back.
                self._store.delete(LOCK, target, expected_version=rec.version)
                continue
            raise TargetBusy(
                target=target,
                rollout_id=rec.doc["rollout_id"],
                user=rec.doc["user"],
                ami_id=rec.doc["ami_id"],
                since=rec.doc["since"],
            )
        raise BakeryError(f"Could not take `{target}`; please try again.")

    def release(self, rollout: Rollout) -> None:
        rec = self._store.get(LOCK, rollout.target)
        if rec and rec.doc.get("rollout_id") == rollout.rollout_id:
            self._store.delete(LOCK, rollout.target, expected_version=rec.version)
            log.info("rollout.released rollout_id=%s target=%s", rollout.rollout_id, rollout.target)
            try:
                self._on_free(rollout.target)  # a train's rollout waiting for this target may start now
            except Exception:  # noqa: BLE001 - the rollout has ended either way; the waiting hop is retried later
                log.exception("rollout.on_free_failed target=%s", rollout.target)

    # --- how a rollout ends, and why a button is too late ---------------------------------------

    def ended(self, rollout: Rollout, status: RolloutStatus, detail: str) -> Rollout:
        ended = replace(rollout, status=status, finished_at=self.now())
        return ended.with_notice(
            f"ended:{status}",
            NoticeKind.ROLLOUT_ENDED,
            rollout_id=ended.rollout_id,
            target=ended.target,
            ami_id=ended.ami_id,
            status=status.value,
            version=ended.version,
            detail=detail,
        )

    @staticmethod
    def moved_on(rollout: Rollout, wanted: str) -> RolloutMovedOn:
        return RolloutMovedOn(
            rollout_id=rollout.rollout_id, wanted=wanted, status=rollout.status, approved_by=rollout.approved_by
        )
