"""Where the bakery's AMIs can be (§13, §14): each account the configuration reaches (the bakery's own, each
image's `account_role` account) in each region it names for an image (the image's, its `share_with` regions,
its targets'). A revocation looks for an AMI in all of them, and for an image's AMIs in that image's: in each at
once, one thread per account and region."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TypeVar

from bot.config import Config, ImageConfig
from bot.config.model import Where
from bot.domain.errors import BakeryError

log = logging.getLogger(__name__)

PARALLEL = 8  # AWS calls at once: one per account and region
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Place:
    """One account and region, and what the adapter factories are asked for to act there."""

    account: str  # the member account; "" for the bakery's own
    region: str
    where: Where  # the image (with this region) when it has account_role, else the region of the bot's account

    @property
    def key(self) -> tuple[str, str]:
        return self.account, self.region


def image_regions(config: Config, image: ImageConfig, default_region: str) -> list[str]:
    """The image's region, its share_with regions and its targets' regions, in that order, once each."""
    home = image.region or default_region
    shared = image.share_with.regions if image.share_with else ()
    targets = [t.region or home for t in config.targets.values() if t.image == image.name]
    return list(dict.fromkeys([home, *shared, *targets]))


def image_places(config: Config, image: ImageConfig, default_region: str) -> list[Place]:
    """Where `image`'s AMIs are: its own account, in each of its regions."""
    return [
        Place(image.account, r, replace(image, region=r) if image.account_role else r or None)
        for r in image_regions(config, image, default_region)
    ]


def every_place(config: Config, default_region: str) -> list[Place]:
    """Each account and region the configuration reaches, once (the first image of an account reaches it)."""
    places: dict[tuple[str, str], Place] = {}
    for name in sorted(config.images):
        for place in image_places(config, config.images[name], default_region):
            places.setdefault(place.key, place)
    return list(places.values())


def at_once(items: list[T], call: Callable[[T], R]) -> list[tuple[T, R | BakeryError]]:
    """`call` on every item at once (one thread per account and region); a BakeryError is an answer too."""

    def one(item: T) -> tuple[T, R | BakeryError]:
        try:
            return item, call(item)
        except BakeryError as exc:
            log.warning("revoke.aws_refused where=%s error=%s", getattr(item, "key", item), exc)
            return item, exc

    if len(items) <= 1:
        return [one(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(items)), thread_name_prefix="revoke") as pool:
        return list(pool.map(one, items))
