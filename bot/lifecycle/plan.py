"""The lifecycle plan (§14), pure: for one image's AMIs in one account and region, which are kept, which get a
deprecation time, and which are deregistered; and what makes an AMI in use, from what the sweep gathered.

Rules, per image and (account, region), following the image's `lifecycle`:
- the `keep_released` newest good releases (released, not revoked) are kept;
- unreleased AMIs younger than `keep_unreleased_days` are kept; so are AMIs not yet (or no longer) available
  to deregister (pending, transient);
- a good release superseded (a newer good release exists) for `deprecate_after_days` gets a deprecation time,
  now, once: one that has a DeprecationTime already is left as it is. The clock starts when the newer release
  was made, the moment it stopped being the newest;
- the rest is deregistered with its snapshots (older releases, revoked AMIs, old unreleased ones), unless it is
  in use: then it is kept, with every use found, for the report.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.bakes.record import Bake
from bot.config import LifecycleConfig
from bot.domain.fleet_types import ImageReferences, OwnedAmi
from bot.domain.models import TAG_IMAGE, TAG_REQUEST_ID
from bot.domain.times import parse_time
from bot.fleet.releases import good_releases, is_released
from bot.lifecycle.report import Planned, Use
from bot.rollouts.record import Rollout

# States in which an AMI can be deregistered; a pending or transient one is some bake's work in progress.
REMOVABLE_STATES = frozenset({"available", "failed", "invalid", "error", "disabled"})
LATEST_PATH = "/bakery/images"  # every image's `/bakery/images/<image>/latest` lives below it


@dataclass(frozen=True)
class PlacePlan:
    """One image's AMIs in one account and region, sorted by what happens to them."""

    remove: tuple[Planned, ...] = ()
    deprecate: tuple[Planned, ...] = ()
    in_use: tuple[Planned, ...] = ()
    kept: int = 0


def age_days(ami: OwnedAmi, now: datetime) -> float:
    try:
        return (now - parse_time(ami.created)).total_seconds() / 86400
    except ValueError:  # a CreationDate EC2 would not write: counted as new, so never removed for its age
        return 0.0


def plan_place(
    amis: Iterable[OwnedAmi],
    *,
    image: str,
    lifecycle: LifecycleConfig,
    now: datetime,
    revoked: Collection[str],
    uses: Mapping[str, Sequence[Use]],
    busy_requests: Mapping[str, str] = {},  # noqa: B006 - read only
) -> PlacePlan:
    """The plan for `image`'s AMIs among `amis` (one account and region; AMIs of other images are ignored).

    `uses`: AMI id -> what uses it; `busy_requests`: request id of a bake in flight -> its state, so that an AMI
    tagged with it (even before the bake's record names it) is in use.
    """
    mine = [a for a in amis if a.tags.get(TAG_IMAGE) == image]
    good = good_releases(mine, image, lambda ami_id: ami_id in revoked)
    newest = {a.ami_id for a in good[: max(lifecycle.keep_released, 0)]}
    remove: list[Planned] = []
    in_use: list[Planned] = []
    kept = 0
    for ami in mine:
        why = _why_remove(ami, newest=newest, revoked=revoked, lifecycle=lifecycle, now=now)
        if why is None:
            kept += 1
            continue
        found = tuple(uses.get(ami.ami_id, ()))
        request = ami.tags.get(TAG_REQUEST_ID, "")
        if request in busy_requests and not any(u.kind == "bake" and u.resource == request for u in found):
            found += (Use("bake", request, f"made by a bake in flight ({busy_requests[request]})"),)
        (in_use if found else remove).append(Planned(image, ami, why, found))
    removed = {p.ami_id for p in remove}
    deprecate = [
        Planned(image, ami, f"superseded by `{newer.ami_id}` {int(age_days(newer, now))} days ago")
        for newer, ami in zip(good, good[1:], strict=False)
        if ami.ami_id not in removed
        and ami.deprecation_time is None
        and age_days(newer, now) >= lifecycle.deprecate_after_days
    ]
    return PlacePlan(remove=tuple(remove), deprecate=tuple(deprecate), in_use=tuple(in_use), kept=kept)


def _why_remove(
    ami: OwnedAmi, *, newest: Collection[str], revoked: Collection[str], lifecycle: LifecycleConfig, now: datetime
) -> str | None:
    """Why the lifecycle would deregister `ami` (None: it keeps it)."""
    if ami.state not in REMOVABLE_STATES or ami.ami_id in newest:
        return None
    if ami.ami_id in revoked:
        return "revoked"
    if is_released(ami) and ami.state == "available":
        return f"an older release (the {lifecycle.keep_released} newest are kept)"
    days = age_days(ami, now)
    if days < lifecycle.keep_unreleased_days:
        return None
    return f"unreleased, {int(days)} days old" if ami.state == "available" else f"unreleased and {ami.state}"


# --- what is in use ------------------------------------------------------------------------------------


def uses_of_bakes(bakes: Iterable[Bake]) -> tuple[dict[str, list[Use]], dict[str, str]]:
    """The AMIs the bakes in flight made or bake from, and their request ids (-> state)."""
    uses: dict[str, list[Use]] = {}
    busy: dict[str, str] = {}
    for bake in bakes:
        busy[bake.request_id] = bake.status.value
        for ami in bake.amis:
            uses.setdefault(ami.ami_id, []).append(Use("bake", bake.request_id, "made by a bake in flight"))
        if bake.source_ami:
            uses.setdefault(bake.source_ami, []).append(Use("bake", bake.request_id, "source AMI of a bake in flight"))
    return uses, busy


def uses_of_rollouts(rollouts: Iterable[Rollout], image: str | None = None) -> dict[str, list[Use]]:
    """The AMIs rollouts not yet ended are rolling onto (of one image, or all)."""
    uses: dict[str, list[Use]] = {}
    for r in rollouts:
        if not r.terminal and (image is None or r.image == image):
            uses.setdefault(r.ami_id, []).append(Use("rollout", r.rollout_id, f"rollout of `{r.target}`, {r.status}"))
    return uses


def uses_of_references(references: ImageReferences, account: str) -> dict[str, list[Use]]:
    """AmiLifecycle.references' answer for one account, as uses."""
    return {
        ami_id: [Use(ref.kind, ref.resource, ref.detail, account) for ref in refs]
        for ami_id, refs in references.by_ami.items()
        if refs
    }


def uses_of_parameters(parameters: Mapping[str, str], account: str) -> dict[str, list[Use]]:
    """`/bakery/images/*/latest` (and any parameter below `/bakery/images`) naming an AMI."""
    uses: dict[str, list[Use]] = {}
    for name, value in parameters.items():
        if value.startswith("ami-"):
            uses.setdefault(value, []).append(Use("ssm-parameter", name, "", account))
    return uses


def merged(*parts: Mapping[str, Sequence[Use]]) -> dict[str, list[Use]]:
    """Every use of each AMI, once each (two paths may find the same instance)."""
    out: dict[str, list[Use]] = {}
    for part in parts:
        for ami_id, found in part.items():
            bucket = out.setdefault(ami_id, [])
            bucket.extend(u for u in found if u not in bucket)
    return out
