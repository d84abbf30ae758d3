"""What a revocation writes besides its record (§14): the tag's value, the `latest` parameter's name, and which
bake the store's latest moves back to."""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.fleet_types import OwnedAmi
from bot.domain.models import TAG_REQUEST_ID
from bot.fleet.releases import newest_good
from bot.fleet.revoke_places import Place

TAG_VALUE_MAX = 256  # EC2: a tag value is at most 256 Unicode characters


def latest_parameter(image: str) -> str:
    return f"/bakery/images/{image}/latest"


def tag_value(reason: str) -> str:
    """The reason as a tag value: control characters as spaces, cut to EC2's 256 characters with an ellipsis."""
    clean = " ".join("".join(c if c.isprintable() else " " for c in reason).split())
    return clean if len(clean) <= TAG_VALUE_MAX else clean[: TAG_VALUE_MAX - 1].rstrip() + "…"


def store_latest_after(
    found: OwnedAmi,
    places: list[Place],
    inventory: dict[tuple[str, str], list[OwnedAmi]],
    image: str,
    revoked: Callable[[str], bool],
) -> tuple[str, str] | None:
    """(revoked bake, good bake) for the store's image record: its latest bake (children's parent pin, a rollout's
    default AMI, `/bake list`) moves back to the newest good release in the image's own region, as `latest` does.
    None when there is no good release there, or the revoked AMI names no bake."""
    home = places[0].key if places else None
    good = newest_good(inventory.get(home, []) if home else [], image, revoked)
    revoked_request = found.tags.get(TAG_REQUEST_ID, "")
    good_request = good.tags.get(TAG_REQUEST_ID, "") if good else ""
    return (revoked_request, good_request) if revoked_request and good_request else None
