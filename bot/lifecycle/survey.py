"""What the lifecycle sweep sees (§14): every image's AMIs where they live, what uses them anywhere the bakery
reaches, and the plan over both; gathered in as few calls as the ports allow.

Per image, its AMIs live in its own account (the bakery's, or its `account_role`'s, §13), in its region and
each `share_with` region. Per account and region: one `bakery_amis()`. Then, per region where something would be
removed, in every account the bakery reaches there (its own and each `account_role` account: a base AMI shared
with a member account may run there): one `references()` for all those AMIs at once, with the targets' launch
templates of that account and region, and one `Parameters.under("/bakery/images")`. Never one call per AMI.
Places are read concurrently. A place that cannot be read removes nothing there, and says why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from bot.bakes.record import Bake
from bot.config import Config, ImageConfig
from bot.config.model import Where
from bot.domain.errors import BakeryError
from bot.domain.fleet_types import OwnedAmi
from bot.domain.models import TAG_IMAGE
from bot.domain.ports import AmiLifecycle, Parameters, StateStore
from bot.domain.times import utc_now
from bot.lifecycle.plan import (
    LATEST_PATH,
    PlacePlan,
    merged,
    plan_place,
    uses_of_bakes,
    uses_of_parameters,
    uses_of_references,
    uses_of_rollouts,
)
from bot.lifecycle.report import Planned, SweepReport, Use
from bot.rollouts.book import LOCK
from bot.rollouts.record import Rollout

log = logging.getLogger(__name__)
WORKERS = 8  # places read at once
K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


@dataclass(frozen=True)
class Place:
    """One account and region, and what an adapter factory is asked for to act there."""

    account: str  # "" for the bakery's own account
    region: str
    where: Where = field(compare=False)  # the same account and region, however it is reached

    @property
    def label(self) -> str:
        return f"{self.region}, {self.account}" if self.account else self.region


class Surveyor:
    def __init__(
        self,
        *,
        config: Config,
        lifecycle_for: Callable[[Where], AmiLifecycle],
        parameters_for: Callable[[Where], Parameters],
        in_flight: Callable[[], Sequence[Bake]],
        active_rollouts: Callable[[], Sequence[Rollout]],
        revoked: Callable[[], Collection[str]],
        default_region: str = "",
        clock: Callable[[], datetime] = utc_now,
        store: StateStore | None = None,  # the targets' locks, for the last look before a deregistration
    ):
        self._store = store
        self._config = config
        self.lifecycle_for = lifecycle_for
        self._parameters_for = parameters_for
        self.in_flight = in_flight
        self.active_rollouts = active_rollouts
        self._revoked = revoked
        self._default_region = default_region
        self.clock = clock

    # --- where things are ---------------------------------------------------------------------

    def region_of(self, image: ImageConfig) -> str:
        return image.region or self._default_region

    def places_of(self, image: ImageConfig) -> list[Place]:
        """Where the image's AMIs live: its account, in its region and each share_with region."""
        regions = [self.region_of(image), *(image.share_with.regions if image.share_with else ())]
        seen: list[str] = []
        for region in regions:
            if region not in seen:
                seen.append(region)
        return [Place(image.account, r, replace(image, region=r)) for r in seen]

    def reached(self, region: str) -> list[Place]:
        """Every account the bakery reaches, in `region`: its own, and each account_role's (through the role)."""
        places = [Place("", region, region)]
        for image in self._config.images.values():
            if image.account and all(p.account != image.account for p in places):
                places.append(Place(image.account, region, replace(image, region=region)))
        return places

    def templates(self, place: Place) -> list[str]:
        """The launch templates of the targets in that account and region: every version of each is checked."""
        found = []
        for target in self._config.targets.values():
            image = self._config.images[target.image]
            if image.account == place.account and (target.region or self.region_of(image)) == place.region:
                found.append(target.launch_template)
        return sorted(set(found))

    # --- the survey ---------------------------------------------------------------------------

    def survey(self, images: Collection[str] | None = None) -> SweepReport:
        """The plan for `images` (default: every configured image) as a dry-run report; changes nothing."""
        chosen = sorted(images if images is not None else self._config.images)
        owners: dict[tuple[str, str], tuple[Place, list[str]]] = {}
        for name in chosen:
            for place in self.places_of(self._config.images[name]):
                owners.setdefault((place.account, place.region), (place, []))[1].append(name)
        listed = _concurrently(lambda p: self.lifecycle_for(p.where).bakery_amis(), [p for p, _ in owners.values()])
        now = self.clock()
        revoked = set(self._revoked())
        bake_uses, busy = uses_of_bakes(self.in_flight())
        early = merged(bake_uses, uses_of_rollouts(self.active_rollouts()))
        unreachable: list[str] = []
        unconfigured: set[str] = set()
        amis_at: dict[tuple[str, str], list[OwnedAmi]] = {}
        for key, (place, _names) in owners.items():
            amis = listed[place]
            if isinstance(amis, BakeryError):
                unreachable.append(f"{place.label}: {amis}")
                continue
            amis_at[key] = amis
            unconfigured |= {a.tags.get(TAG_IMAGE, "") for a in amis} - set(self._config.images)

        def plans(uses: dict[str, list[Use]]) -> dict[tuple[str, str, str], PlacePlan]:
            return {
                (name, *key): plan_place(
                    amis,
                    image=name,
                    lifecycle=self._config.images[name].lifecycle,
                    now=now,
                    revoked=revoked,
                    uses=uses,
                    busy_requests=busy,
                )
                for key, amis in amis_at.items()
                for name in owners[key][1]
            }

        first = plans(early)
        candidates: dict[str, list[str]] = {}  # region -> AMI ids that would be removed there
        for (_, _, region), plan in first.items():
            candidates.setdefault(region, []).extend(p.ami_id for p in plan.remove)
        found, unknown = self._uses_in(candidates)
        final = plans(merged(early, found))
        report = _report(final, unknown, chosen, unreachable, sorted(unconfigured - {""}))
        if unconfigured - {""}:
            log.info("lifecycle.unconfigured images=%s", ",".join(sorted(unconfigured - {""})))
        return report

    def _uses_in(self, candidates: dict[str, list[str]]) -> tuple[dict[str, list[Use]], dict[str, str]]:
        """What uses the candidates, in every account reached in their region: references and `latest`
        parameters. Also the candidates whose use could not be ruled out (a read that failed), with why."""
        reads = [(place, tuple(ids)) for region, ids in candidates.items() if ids for place in self.reached(region)]

        def read(item: tuple[Place, tuple[str, ...]]) -> dict[str, list[Use]]:
            place, ids = item
            refs = self.lifecycle_for(place.where).references(ids, launch_templates=self.templates(place))
            params = self._parameters_for(place.where).under(LATEST_PATH)
            return merged(uses_of_references(refs, place.account), uses_of_parameters(params, place.account))

        answers = _concurrently(read, reads)
        found: dict[str, list[Use]] = {}
        unknown: dict[str, str] = {}
        for place, ids in reads:
            answer = answers[(place, ids)]
            if isinstance(answer, BakeryError):
                unknown.update({i: f"could not check {place.label}: {answer}" for i in ids})
            else:
                found = merged(found, answer)
        return found, unknown

    def recheck(self, planned: Planned) -> list[Use]:
        """What uses one AMI now, just before its deregistration: references in every account reached in its
        region, rollouts not yet ended and bakes in flight (the one call per AMI the sweep allows itself)."""
        ami = planned.ami
        uses: dict[str, list[Use]] = {}
        for place in self.reached(ami.region):
            refs = self.lifecycle_for(place.where).references([ami.ami_id], launch_templates=self.templates(place))
            uses = merged(uses, uses_of_references(refs, place.account))
        bake_uses, _ = uses_of_bakes(self.in_flight())
        uses = merged(uses, uses_of_rollouts(self.active_rollouts(), planned.image), bake_uses)
        return uses.get(ami.ami_id, []) + self._holding(planned)

    def _holding(self, planned: Planned) -> list[Use]:
        """Rollouts holding a target of the image onto this AMI, read by key: the rollouts' index may lag on
        DynamoDB (a GSI is eventually consistent), a target's lock, written before its rollout, does not."""
        if self._store is None:
            return []
        found = []
        for name, target in sorted(self._config.targets.items()):
            lock = self._store.get(LOCK, name) if target.image == planned.image else None
            if lock is not None and lock.doc.get("ami_id") == planned.ami_id:
                found.append(Use("rollout", str(lock.doc.get("rollout_id", "")), f"holds `{name}`"))
        return found


def _report(
    plans: dict[tuple[str, str, str], PlacePlan],
    unknown: dict[str, str],
    images: Sequence[str],
    unreachable: Sequence[str],
    unconfigured: Sequence[str],
) -> SweepReport:
    remove: list[Planned] = []
    in_use: list[Planned] = []
    for plan in plans.values():
        in_use.extend(plan.in_use)
        for p in plan.remove:
            if p.ami_id in unknown:
                in_use.append(replace(p, uses=(Use("unknown", "", unknown[p.ami_id]),)))
            else:
                remove.append(p)
    return SweepReport(
        dry_run=True,
        removed=tuple(_ordered(remove)),
        deprecated=tuple(_ordered(d for plan in plans.values() for d in plan.deprecate)),
        in_use=tuple(_ordered(in_use)),
        kept=sum(plan.kept for plan in plans.values()),
        unconfigured=tuple(unconfigured),
        unreachable=tuple(unreachable),
        images=tuple(images),
    )


def _ordered(planned: Iterable[Planned]) -> list[Planned]:
    return sorted(planned, key=lambda p: (p.image, p.ami.region, p.ami.account_id, p.ami.created, p.ami_id))


def _concurrently(fn: Callable[[K], R], items: Sequence[K]) -> dict[K, R | BakeryError]:
    """fn over items, a few at once; each item's answer, or the BakeryError it raised."""

    def one(item: K) -> R | BakeryError:
        try:
            return fn(item)
        except BakeryError as exc:
            log.warning("lifecycle.read_failed item=%s error=%s", item, exc)
            return exc

    if not items:
        return {}
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(items)), thread_name_prefix="lifecycle") as pool:
        return dict(zip(items, pool.map(one, items), strict=True))
