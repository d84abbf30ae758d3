"""An image's released AMIs in one account and region, as EC2 shows them (§10, §14): the AMIs tagged
`bakery:image=<image>` and `bakery:released=true`, newest first. The fleet view, revocation and the sweep all
ask the same questions of them, so they are answered once, here; pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bot.domain.fleet_types import OwnedAmi
from bot.domain.models import TAG_IMAGE, TAG_RELEASED

REVOKED_TAG = "bakery:revoked"


def is_released(ami: OwnedAmi) -> bool:
    return ami.tags.get(TAG_RELEASED) == "true"


def released_of(amis: Iterable[OwnedAmi], image: str) -> list[OwnedAmi]:
    """The image's released, available AMIs, newest first (by CreationDate, then id, so the order is total)."""
    mine = [a for a in amis if a.tags.get(TAG_IMAGE) == image and is_released(a) and a.state == "available"]
    return sorted(mine, key=lambda a: (a.created, a.ami_id), reverse=True)


def good_releases(amis: Iterable[OwnedAmi], image: str, revoked: Callable[[str], bool]) -> list[OwnedAmi]:
    """The released AMIs nobody revoked, newest first: what a target should run and `latest` should name."""
    return [a for a in released_of(amis, image) if not revoked(a.ami_id)]


def newest_good(amis: Iterable[OwnedAmi], image: str, revoked: Callable[[str], bool]) -> OwnedAmi | None:
    good = good_releases(amis, image, revoked)
    return good[0] if good else None


def newer_than(releases: list[OwnedAmi], ami_id: str) -> list[OwnedAmi] | None:
    """The releases (newest first) made after `ami_id`; None when `ami_id` is none of them (not a release of the
    image here: unknown, unreleased, or revoked and left out of `releases`)."""
    ids = [a.ami_id for a in releases]
    return releases[: ids.index(ami_id)] if ami_id in ids else None
