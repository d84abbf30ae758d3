"""The **Rebake <child>** buttons (`bake_children`) of a released bake whose child asks (on_parent_release: ask).

An offer is one record per (released bake, child), created once; the button carries its opaque key. A click
by a baker opens the child's bake on exactly the released AMI, once: the offer is claimed by a conditional
write before anything is opened, so a second click (or a second person) is told who already did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.access.service import Access
from bot.bakes.images import image_summary
from bot.bakes.record import ACTIVE, BAKE, Bake, BakeStatus
from bot.config import Config
from bot.domain.causes import Cause, CauseKind
from bot.domain.errors import BadRequest, NotFound
from bot.domain.ids import derived_key
from bot.domain.ports import StateStore
from bot.domain.replies import ChildRebaking
from bot.trains.auto import AutoBakes
from bot.trains.book import TrainBook, bake_hop_key, train_id_for
from bot.trains.offers import RebakeOffer
from bot.trains.record import Hop, HopKind

log = logging.getLogger(__name__)

REBAKE = "rebake"  # state kind: a Rebake <child> button key -> the released bake, the child, the AMI
_FAILED = (BakeStatus.FAILED, BakeStatus.ERROR, BakeStatus.CANCELED, BakeStatus.STOPPED, BakeStatus.SUPERSEDED)


def rebake_key(request_id: str, child: str) -> str:
    return derived_key("bc", f"{request_id}|{child}")


class RebakeOffers:
    """The offers a released bake makes; read by its message's renderer, written once per child."""

    def __init__(self, *, config: Config, store: StateStore):
        self._config = config
        self._store = store

    def offer(self, *, parent: Bake, child: str, ami_id: str, train_id: str) -> None:
        key = rebake_key(parent.request_id, child)
        doc = {
            "key": key,
            "parent_request_id": parent.request_id,
            "child": child,
            "ami_id": ami_id,
            "train_id": train_id,
        }
        self._store.create(REBAKE, key, doc)

    def of_bake(self, bake: Bake) -> list[RebakeOffer]:
        """The offers `bake` made, in child order (pure over the configuration plus one read per child)."""
        if not bake.released:
            return []
        children = sorted(
            n for n, c in self._config.images.items() if c.parent == bake.image and c.on_parent_release == "ask"
        )
        found = (self.lookup(rebake_key(bake.request_id, child)) for child in children)
        return [o for o in found if o is not None]

    def lookup(self, key: str) -> RebakeOffer | None:
        rec = self._store.get(REBAKE, key) if key.startswith("bc-") and len(key) < 40 else None
        return RebakeOffer.from_doc(rec.doc) if rec else None


class Rebakes:
    """A baker's click on **Rebake <child>**: checked, claimed once, then one automatic bake of the child."""

    def __init__(
        self,
        *,
        config: Config,
        store: StateStore,
        access: Access,
        offers: RebakeOffers,
        auto: AutoBakes,
        trains: TrainBook,
        mark_bake_dirty: Callable[[str], None],
    ):
        self._mark_bake_dirty = mark_bake_dirty
        self._config = config
        self._store = store
        self._access = access
        self._offers = offers
        self._auto = auto
        self._trains = trains

    def rebake(self, *, user: str, key: str) -> ChildRebaking:
        offer = self._offers.lookup(key)
        if offer is None or offer.child not in self._config.images:
            raise NotFound("I do not know this button (it may belong to another bot, or the image is gone).")
        self._access.require(user, "bakers")
        if offer.clicked_by:
            raise BadRequest(self._already(offer))
        baked = self._baked_on(offer.child, offer.ami_id)
        if baked is not None:
            raise BadRequest(f"`{offer.child}` is already baked on `{offer.ami_id}`: bake `{baked}`. Nothing opened.")

        def claim(doc: dict[str, Any]) -> dict[str, Any] | None:
            return None if doc.get("clicked_by") else {**doc, "clicked_by": user}

        rec = self._store.mutate(REBAKE, key, claim)
        if rec is None or rec.doc.get("clicked_by") != user:
            raise BadRequest(self._already(RebakeOffer.from_doc(rec.doc) if rec else offer))
        train_id = offer.train_id or self._open_train(offer, user)
        cause = Cause(
            kind=CauseKind.PARENT,
            image=self._config.images[offer.child].parent or "",
            ami_id=offer.ami_id,
            request_id=offer.parent_request_id,
            train_id=train_id,
        )
        opened = self._auto.open_automatic(offer.child, source_ami=offer.ami_id, cause=cause)
        self._store.mutate(REBAKE, key, lambda d: {**d, "opened": opened or ""})
        self._mark_bake_dirty(offer.parent_request_id)  # its card says who asked, and no longer offers
        log.info("train.rebake key=%s child=%s user=%s opened=%s", key, offer.child, user, opened or "-")
        return ChildRebaking(child=offer.child, ami_id=offer.ami_id, request_id=opened or "", train_id=train_id)

    def _open_train(self, offer: RebakeOffer, user: str) -> str:
        """A click on a release that set nothing else moving starts a train of its own: the clicker's."""
        parent = self._store.get(BAKE, offer.parent_request_id)
        root_image = str(parent.doc.get("image")) if parent else offer.child
        pinned = str(parent.doc.get("source_ami") or "") if parent else ""
        channel = self._config.images[root_image].channel if root_image in self._config.images else self._config.channel
        cause = Cause(kind=CauseKind.PARENT, image=root_image, ami_id=offer.ami_id, request_id=offer.parent_request_id)
        train_id = train_id_for(cause.key)
        self._trains.ensure(
            cause=Cause(**{**cause.__dict__, "train_id": train_id}),
            root_image=root_image,
            channel=channel,
            started_by=user,
        )
        self._trains.add_hop(
            train_id,
            Hop(
                key=bake_hop_key(root_image, pinned or offer.parent_request_id),
                kind=HopKind.BAKE,
                subject=root_image,
                ref=offer.parent_request_id,
            ),
        )
        return train_id

    def _already(self, offer: RebakeOffer) -> str:
        opened = f": bake `{offer.opened}`" if offer.opened else ""
        return f"<@{offer.clicked_by}> already asked to rebake `{offer.child}` on `{offer.ami_id}`{opened}."

    def _baked_on(self, image: str, ami_id: str) -> str | None:
        """A bake of `image` on `ami_id` that did not fail (in flight or done), if the bot knows one."""
        ids = {r.key for r in self._store.find(BAKE, ACTIVE)} | set(image_summary(self._store, image).get("recent", []))
        for rid in sorted(ids):
            rec = self._store.get(BAKE, rid)
            if rec is None:
                continue
            b = Bake.from_doc(rec.doc)
            if b.image == image and b.source_ami == ami_id and b.status not in _FAILED:
                return b.request_id
        return None
