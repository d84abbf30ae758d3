"""The trains' records: one train per cause (its id derived from the cause, so two deliveries find the same
train), hops added by conditional writes keyed by the hop, and who started it (four-eyes across the train)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from bot.bakes.record import BAKE, Bake
from bot.domain.causes import BAKERY_USER, Cause
from bot.domain.ports import StateStore
from bot.domain.times import iso, utc_now
from bot.rollouts.book import ROLLOUT
from bot.rollouts.record import Rollout
from bot.trains.distribution_record import DISTRIBUTION, Distribution
from bot.trains.record import TRAIN, Hop, HopKind, Train, train_index
from bot.trains.view import RELEASE, TrainView

_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # as bot.domain.ids: read aloud, typed
TRAIN_ID_PREFIX = "t-"


def train_id_for(cause_key: str) -> str:
    """The train a cause sets moving: `t-` and six characters derived from the cause's key, so the same cause
    delivered twice (or an upstream check racing a topic message) lands in the same train."""
    digest = hashlib.sha256(cause_key.encode()).digest()
    return TRAIN_ID_PREFIX + "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:6])


def bake_hop_key(image: str, source_ami: str) -> str:
    """A bake's line in its train: one per image and source AMI (the root: its own request id if unpinned)."""
    return f"bake:{image}@{source_ami}"


class Board(Protocol):
    """Where a train's message is marked for redrawing (its publisher)."""

    def mark_dirty(self, request_id: str) -> None: ...


class TrainBook:
    """Reads and conditionally writes train records; `board` redraws a train's message."""

    def __init__(self, *, store: StateStore, board: Board | None = None, clock: Callable[[], datetime] = utc_now):
        self._store = store
        self._board = board
        self._clock = clock

    def get(self, train_id: str) -> Train | None:
        rec = self._store.get(TRAIN, train_id) if train_id.startswith(TRAIN_ID_PREFIX) else None
        return Train.from_doc(rec.doc) if rec else None

    def active(self) -> list[Train]:
        return [Train.from_doc(r.doc) for r in self._store.find(TRAIN, "active")]

    def ensure(self, *, cause: Cause, root_image: str, channel: str, started_by: str) -> Train:
        """The train of `cause.train_id`, created if absent (the first writer's record wins)."""
        train = Train(
            train_id=cause.train_id,
            cause=cause,
            root_image=root_image,
            channel=channel,
            started_by=started_by or BAKERY_USER,
            started_at=iso(self._clock()),
        )
        doc = train.to_doc()
        if self._store.create(TRAIN, train.train_id, doc, index=train_index(doc)):
            self._mark_dirty(train.train_id)
        stored = self.get(train.train_id)
        if stored is None:  # pragma: no cover - created a moment ago and never deleted
            raise LookupError(f"train {train.train_id} was written but cannot be read back")
        return stored

    def add_hop(self, train_id: str, hop: Hop) -> Train | None:
        """The train with `hop` (added once per key; a known key with no ref yet takes this hop's ref)."""
        stamped = replace(hop, added_at=hop.added_at or iso(self._clock()))

        def change(t: Train) -> Train | None:
            known = t.hop(hop.key)
            if known is None:
                return replace(t.with_hop(stamped), finished_at="", settled=False)
            if known.ref or not hop.ref:
                return None
            started = replace(known, ref=hop.ref, waiting="")
            return replace(t, hops=tuple(started if h.key == hop.key else h for h in t.hops))

        return self.mutate(train_id, change)

    def update_hop(self, train_id: str, key: str, change: Callable[[Hop], Hop]) -> Train | None:
        """The train with its hop `key` changed, while that hop has no record yet (a started hop stays)."""

        def fn(t: Train) -> Train | None:
            known = t.hop(key)
            if known is None or known.ref:
                return None
            after = change(known)
            if after == known:
                return None
            hops = tuple(after if h.key == key else h for h in t.hops)
            return replace(t, hops=hops, finished_at="", settled=False)

        return self.mutate(train_id, fn)

    def mutate(self, train_id: str, change: Callable[[Train], Train | None]) -> Train | None:
        def fn(doc: dict[str, Any]) -> dict[str, Any] | None:
            after = change(Train.from_doc(doc))
            return after.to_doc() if after is not None else None

        rec = self._store.mutate(TRAIN, train_id, fn, index_fn=train_index)
        if rec is None:
            return None
        self._mark_dirty(train_id)
        return Train.from_doc(rec.doc)

    def view(self, train_id: str) -> TrainView | None:
        train = self.get(train_id)
        return load_view(self._store, train) if train else None

    def finish_if_done(self, train: Train) -> None:
        """After the train's message was drawn: once nothing more can follow, say it is finished (once)."""
        if train.finished_at or not load_view(self._store, train).finished:
            return
        at = iso(self._clock())
        self.mutate(train.train_id, lambda t: None if t.finished_at else replace(t, finished_at=at))

    def starter(self, train_id: str) -> str:
        """The person who started the train (requested its root bake); "" for none or an automatic root."""
        train = self.get(train_id) if train_id else None
        if train is None or train.started_by == BAKERY_USER:
            return ""
        return train.started_by

    def touch(self, train_id: str) -> None:
        """A hop's own record changed (a distribution): the train's message is drawn again."""
        self._mark_dirty(train_id)

    def _mark_dirty(self, train_id: str) -> None:
        if self._board is not None:
            self._board.mark_dirty(train_id)


def load_view(store: StateStore, train: Train) -> TrainView:
    """The train and its hops' records, read once."""
    bakes: dict[str, Bake] = {}
    rollouts: dict[str, Rollout] = {}
    distributions: dict[str, Distribution] = {}
    followed: set[str] = set()
    for hop in train.hops:
        if not hop.ref:
            continue
        if hop.kind == HopKind.BAKE and (rec := store.get(BAKE, hop.ref)):
            bakes[hop.ref] = Bake.from_doc(rec.doc)
            if store.get(RELEASE, hop.ref):
                followed.add(hop.ref)
        elif hop.kind == HopKind.ROLLOUT and (rec := store.get(ROLLOUT, hop.ref)):
            rollouts[hop.ref] = Rollout.from_doc(rec.doc)
        elif hop.kind == HopKind.DISTRIBUTION and (rec := store.get(DISTRIBUTION, hop.ref)):
            distributions[hop.ref] = Distribution.from_doc(rec.doc)
    for hop in train.hops:  # what a waiting hop waits for: the rollout holding its target
        if hop.waiting and not hop.ref and (rec := store.get(ROLLOUT, hop.waiting)):
            rollouts[hop.waiting] = Rollout.from_doc(rec.doc)
    return TrainView(
        train=train, bakes=bakes, rollouts=rollouts, followed=frozenset(followed), distributions=distributions
    )
