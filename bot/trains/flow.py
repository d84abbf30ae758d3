"""What a release sets moving (CONTRACT §12): children rebaked on the released AMI, targets rolled, one train.

Called for every pipeline message of a released bake, so a redelivery or a restart in the middle resumes:
each step is idempotent (hops keyed by what they are, automatic bakes once per (image, cause), rollouts once
per train and target), and a `release` record marks a bake whose consequences were all set moving.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot.bakes.record import BAKE, Bake, bake_index
from bot.config import Config, ImageConfig
from bot.domain.causes import BAKERY_USER, Cause, CauseKind
from bot.domain.errors import BakeryError
from bot.domain.ports import StateStore
from bot.observe.context import bound
from bot.trains.auto import AutoBakes
from bot.trains.book import TrainBook, bake_hop_key, train_id_for
from bot.trains.distribution import Distributions
from bot.trains.distribution_record import DistributionState
from bot.trains.rebake import RebakeOffers
from bot.trains.record import ASK_REBAKE, ASK_ROLLOUT, Hop, HopKind
from bot.trains.rolling import RolloutOpener, TrainRollouts
from bot.trains.view import RELEASE

log = logging.getLogger(__name__)


def ami_in(bake: Bake, region: str | None) -> str | None:
    """The bake's AMI in `region` (any one when the region is not known)."""
    for ami in bake.amis:
        if region is None or ami.region == region:
            return ami.ami_id
    return None


class TrainAutoBakes:
    """AutoBakes as the train sees it: every automatic bake belongs to the train of its cause, and is a hop of it.

    The cause gets its train id (derived from the cause's key when it starts one: an upstream change); the
    train record is written once a bake was opened, so a cause that opens nothing leaves no train behind.
    """

    def __init__(self, *, config: Config, store: StateStore, inner: AutoBakes, trains: TrainBook):
        self._config = config
        self._store = store
        self._inner = inner
        self._trains = trains

    def open_automatic(self, image: str, *, source_ami: str, cause: Cause) -> str | None:
        cause = cause if cause.train_id else replace(cause, train_id=train_id_for(cause.key))
        key = bake_hop_key(image, source_ami)
        known = self._trains.get(cause.train_id)
        if known is not None:  # claim the line first: a crash after the bake was opened still shows it
            self._trains.add_hop(
                cause.train_id, Hop(key=key, kind=HopKind.BAKE, subject=image, parent_ref=cause.request_id)
            )
        request_id = self._inner.open_automatic(image, source_ami=source_ami, cause=cause)
        if request_id is None:
            return None
        if known is None:
            self._trains.ensure(
                cause=cause, root_image=image, channel=self._config.images[image].channel, started_by=BAKERY_USER
            )
        self._trains.add_hop(
            cause.train_id,
            Hop(key=key, kind=HopKind.BAKE, subject=image, ref=request_id, parent_ref=cause.request_id),
        )
        join_train(self._store, request_id, cause.train_id)
        return request_id


def join_train(store: StateStore, request_id: str, train_id: str) -> None:
    """Record the bake's train on the bake (idempotent; a bake joins one train only)."""

    def change(doc: dict[str, Any]) -> dict[str, Any] | None:
        if doc.get("train_id"):
            return None
        return {**doc, "train_id": train_id, "settled": False}

    store.mutate(BAKE, request_id, change, index_fn=bake_index)


class ReleaseFlow:
    def __init__(
        self,
        *,
        config: Config,
        store: StateStore,
        trains: TrainBook,
        auto: AutoBakes,
        rollouts: Callable[[], RolloutOpener],
        offers: RebakeOffers,
        mark_bake_dirty: Callable[[str], None],
        revoked: Callable[[str], bool] = lambda ami_id: False,  # §14 revocation plugs in here
        distributions: Distributions | None = None,  # §13 share_with: copies and shares before anything follows
    ):
        self._config = config
        self._store = store
        self._trains = trains
        self._auto = auto
        self._rollouts = rollouts
        self._offers = offers
        self._mark_bake_dirty = mark_bake_dirty
        self._revoked = revoked
        self._distributions = distributions
        self._rolling = TrainRollouts(config=config, store=store, trains=trains, rollouts=rollouts, revoked=revoked)

    def released(self, bake: Bake) -> None:
        """Set moving what `bake`'s release asks for; does nothing for a bake not released or already handled."""
        image = self._config.images.get(bake.image)
        if image is None or not bake.released or not bake.amis or self._store.get(RELEASE, bake.request_id):
            return
        children = [c for c in self._config.images.values() if c.parent == bake.image]
        auto_targets = sorted(
            n for n, t in self._config.targets.items() if t.image == bake.image and t.on_release == "auto"
        )
        asked_targets = sorted(
            n for n, t in self._config.targets.items() if t.image == bake.image and t.on_release != "auto"
        )
        distributing = self._distributions is not None and self._distributions.needed(bake, image)
        moves = any(c.on_parent_release == "bake" for c in children) or bool(auto_targets) or distributing
        train_id = self._train_of(bake, image, moves)
        with bound(request_id=bake.request_id, train_id=train_id):  # on what it logs (bot.observe)
            if distributing:
                held = self._distribution(bake, image, train_id)
                if held is None:
                    return
                bake = held
            for child in children:
                try:
                    self._follow(bake, image, child, train_id)
                except BakeryError:
                    log.exception("train.child_failed request_id=%s child=%s", bake.request_id, child.name)
            for target in auto_targets:
                self._rolling.roll(bake, target, train_id)
            if train_id:
                for target in asked_targets:  # the Roll out button stays on the bake; the train links to it
                    self._trains.add_hop(
                        train_id,
                        Hop(
                            key=f"{ASK_ROLLOUT}{target}@{bake.request_id}",
                            kind=HopKind.ASK,
                            subject=target,
                            parent_ref=bake.request_id,
                        ),
                    )
            self._store.create(RELEASE, bake.request_id, {"request_id": bake.request_id, "train_id": train_id})
            log.info("train.release_followed request_id=%s train_id=%s", bake.request_id, train_id or "-")

    def _distribution(self, bake: Bake, image: ImageConfig, train_id: str) -> Bake | None:
        """The bake with its copies once its distribution is done; None while it runs (its chore calls `released`
        again when it ends), or when it failed: then nothing follows, and the release is marked followed."""
        assert self._distributions is not None
        state = self._distributions.gate(bake, image, train_id)
        if state == DistributionState.FAILED:
            doc = {"request_id": bake.request_id, "train_id": train_id, "distribution": state.value}
            if self._store.create(RELEASE, bake.request_id, doc) and train_id:
                self._trains.touch(train_id)  # nothing more follows: the train can end
            log.info("train.release_not_followed request_id=%s reason=distribution-failed", bake.request_id)
            return None
        if state is not None and state != DistributionState.DONE:
            return None
        rec = self._store.get(BAKE, bake.request_id)  # the copies are on the stored bake now
        return Bake.from_doc(rec.doc) if rec else bake

    def _train_of(self, bake: Bake, image: ImageConfig, moves: bool) -> str:
        if bake.train_id:
            if self._trains.get(bake.train_id) is None and bake.cause is not None:  # a crash before it was written
                self._trains.ensure(
                    cause=bake.cause, root_image=bake.image, channel=image.channel, started_by=BAKERY_USER
                )
            return bake.train_id
        if not moves:
            return ""  # a person's release that moves nothing opens no train
        root = Cause(kind=CauseKind.PARENT, image=bake.image, ami_id=bake.amis[0].ami_id, request_id=bake.request_id)
        train_id = train_id_for(root.key)
        self._trains.ensure(
            cause=replace(root, train_id=train_id),
            root_image=bake.image,
            channel=image.channel,
            started_by=bake.requested_by or BAKERY_USER,
        )
        self._trains.add_hop(
            train_id,
            Hop(
                key=bake_hop_key(bake.image, bake.source_ami or bake.request_id),
                kind=HopKind.BAKE,
                subject=bake.image,
                ref=bake.request_id,
            ),
        )
        join_train(self._store, bake.request_id, train_id)
        self._mark_bake_dirty(bake.request_id)
        return train_id

    def _follow(self, bake: Bake, image: ImageConfig, child: ImageConfig, train_id: str) -> None:
        if child.on_parent_release == "never":
            return
        ami_id = ami_in(bake, child.region or image.region)
        if ami_id is None:
            log.warning(
                "train.no_parent_ami request_id=%s child=%s region=%s", bake.request_id, child.name, child.region
            )
            return
        if self._revoked(ami_id):
            log.info("train.parent_revoked request_id=%s child=%s ami=%s", bake.request_id, child.name, ami_id)
            return
        cause = Cause(
            kind=CauseKind.PARENT, image=bake.image, ami_id=ami_id, request_id=bake.request_id, train_id=train_id
        )
        if child.on_parent_release == "bake":
            self._auto.open_automatic(child.name, source_ami=ami_id, cause=cause)
            return
        self._offers.offer(parent=bake, child=child.name, ami_id=ami_id, train_id=train_id)
        if train_id:
            self._trains.add_hop(
                train_id,
                Hop(
                    key=f"{ASK_REBAKE}{child.name}@{ami_id}",
                    kind=HopKind.ASK,
                    subject=child.name,
                    parent_ref=bake.request_id,
                ),
            )
        self._mark_bake_dirty(bake.request_id)

    def target_free(self, target: str) -> None:
        """A rollout of `target` ended: a train's rollout hop waiting for the target starts (or is superseded)."""
        self._rolling.target_free(target)

    def retry_waiting(self) -> None:
        """Every rollout hop waiting for a target that is free now starts (the periodic safety net)."""
        self._rolling.retry_waiting()

    def recover(self) -> None:
        """After a restart: follow again the released bakes of unfinished trains (each step is idempotent),
        then start the rollout hops whose target was freed while the bot was down."""
        for train in self._trains.active():
            for hop in train.hops:
                if hop.kind == HopKind.BAKE and hop.ref and (rec := self._store.get(BAKE, hop.ref)):
                    self.released(Bake.from_doc(rec.doc))
        self._rolling.retry_waiting()
