"""`/bake fleet [<image> | <target>]` (§14): what every target runs and how far behind its image's newest good
release it is, across every account and region the bakery reaches (§13).

Few calls whatever the number of targets: the targets are grouped by the account and region they live in, and each
group costs one `Fleet.runs_of` (all its groups at once) and one `AmiLifecycle.bakery_amis` (all the bakery's AMIs
there); the groups are read concurrently, so five regions cost about one round trip. A group that cannot be read
(a role refused, an AWS error) shows its targets with the reason; the others are answered all the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.bakes.record import Bake
from bot.config import Config, TargetConfig
from bot.config.model import Where
from bot.domain.errors import BadRequest, BakeryError
from bot.domain.fleet_types import GroupRuns, OwnedAmi
from bot.domain.models import TAG_REQUEST_ID
from bot.domain.ports import AmiLifecycle, Fleet
from bot.domain.times import utc_now
from bot.fleet.facts import FleetReport, FleetState, TargetFleet
from bot.fleet.releases import released_of
from bot.fleet.standing import Standing
from bot.rollouts.buttons import RolloutButtons, rollout_start_key
from bot.rollouts.record import Rollout
from bot.rollouts.which_ami import ami_for, target_account

MAX_READERS = 8  # account+region reads at once: each is two calls, mostly waiting on AWS


@dataclass(frozen=True)
class _Read:
    """What one account and region answered: its groups' runs and the bakery's AMIs, or why it could not."""

    runs: dict[str, GroupRuns]
    amis: list[OwnedAmi]
    problem: str = ""


class FleetView:
    def __init__(
        self,
        *,
        config: Config,
        fleet_for: Callable[[Where], Fleet],
        lifecycle_for: Callable[[Where], AmiLifecycle],
        revoked: Callable[[str], str | None],  # an AMI's revocation reason (bot/fleet/revocations.py), or None
        bake_of: Callable[[str], Bake | None],
        buttons: RolloutButtons,
        rollouts: Callable[[], Sequence[Rollout]],  # the rollouts in flight
        default_region: str,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._config = config
        self._fleet_for = fleet_for
        self._lifecycle_for = lifecycle_for
        self._revoked = revoked
        self._bake_of = bake_of
        self._buttons = buttons
        self._rollouts = rollouts
        self._default_region = default_region
        self._clock = clock

    def report(self, subject: str | None = None) -> FleetReport:
        """Every target of `subject` (an image or a target; None: all), each with where it stands."""
        targets = self.targets_of(subject)
        return FleetReport(subject, tuple(self.standings(targets)), own_account=self._config.bakery_account)

    def targets_of(self, subject: str | None) -> list[TargetConfig]:
        config = self._config
        if subject is None:
            return [config.targets[n] for n in sorted(config.targets)]
        if subject in config.targets:
            return [config.targets[subject]]
        if subject in config.images:
            return [t for n, t in sorted(config.targets.items()) if t.image == subject]
        images = ", ".join(f"`{n}`" for n in sorted(config.images)) or "none"
        targets = ", ".join(f"`{n}`" for n in sorted(config.targets)) or "none"
        raise BadRequest(f"`{subject}` is neither an image nor a target. Images: {images}. Targets: {targets}.")

    def region_of(self, target: TargetConfig) -> str:
        return target.region or self._config.images[target.image].region or self._default_region

    def standings(self, targets: Sequence[TargetConfig]) -> list[TargetFleet]:
        groups: dict[tuple[str, str], list[TargetConfig]] = {}
        for target in targets:
            image = self._config.images[target.image]
            groups.setdefault((image.account_role or "", self.region_of(target)), []).append(target)
        if not groups:
            return []
        in_flight = {r.target: r for r in self._rollouts() if not r.terminal}
        now = self._clock()
        offered: set[str] = set()  # bakes whose buttons were recorded by this answer: once each
        with ThreadPoolExecutor(max_workers=min(MAX_READERS, len(groups)), thread_name_prefix="fleet") as pool:
            reads = {key: self._read(pool, members) for key, members in groups.items()}
            answered = {key: read() for key, read in reads.items()}
        shown = [
            self._standing(target, answered[key], in_flight.get(target.name), now, offered)
            for key, members in groups.items()
            for target in members
        ]
        return sorted(shown, key=lambda t: t.target)

    def _read(self, pool: ThreadPoolExecutor, members: list[TargetConfig]) -> Callable[[], _Read]:
        """Start the account+region's two reads on the pool; the returned function waits for their answer."""
        where = self._config.where(members[0].image, self.region_of(members[0]))
        groups = sorted({t.auto_scaling_group for t in members})
        runs: Future[dict[str, GroupRuns]] = pool.submit(lambda: self._fleet_for(where).runs_of(groups))
        amis: Future[list[OwnedAmi]] = pool.submit(lambda: self._lifecycle_for(where).bakery_amis())

        def answer() -> _Read:
            try:
                return _Read(runs.result(), amis.result())
            except BakeryError as exc:  # RoleRefused, FleetError, ImageError: this account+region only
                return _Read({}, [], problem=str(exc) or type(exc).__name__)

        return answer

    def _standing(
        self, target: TargetConfig, read: _Read, rollout: Rollout | None, now: datetime, offered: set[str]
    ) -> TargetFleet:
        region = self.region_of(target)
        account = target_account(self._config, target)

        def fact(state: FleetState, **more: Any) -> TargetFleet:
            return TargetFleet(target.name, target.image, region, account, state, **more)

        in_flight = f"{rollout.rollout_id} ({rollout.status})" if rollout else None
        if read.problem:
            return fact(FleetState.UNREAD, rollout=in_flight, problem=read.problem)
        runs = read.runs.get(target.auto_scaling_group)
        if runs is None:
            problem = f"no Auto Scaling group `{target.auto_scaling_group}` there"
            return fact(FleetState.MISSING, rollout=in_flight, problem=problem)
        standing = Standing(runs, released_of(read.amis, target.image), self._revoked, now, read.amis)
        newest = standing.newest
        button, problem = None, ""
        if newest is not None and standing.state in (FleetState.BEHIND, FleetState.REVOKED):
            button, problem = self._button(target, region, newest, offered)
        return fact(
            standing.state,
            runs=standing.amis,
            newest=newest.ami_id if newest else None,
            bakes_behind=standing.bakes_behind,
            behind_since=standing.behind_since,
            days_behind=standing.days_behind,
            button=button,
            rollout=in_flight,
            problem=problem,
        )

    def _button(self, target: TargetConfig, region: str, newest: OwnedAmi, offered: set[str]) -> tuple[str | None, str]:
        """The Roll out button onto `newest`: the key of its bake's button, recorded so a click resolves
        (RolloutButtons.offer), when the bot knows that bake and the bake's AMI for the target is this one."""
        request_id = newest.tags.get(TAG_REQUEST_ID, "")
        bake = self._bake_of(request_id) if request_id else None
        ami = ami_for(bake.amis, self._config, target, region) if bake else None
        if bake is None or ami is None or ami.ami_id != newest.ami_id:
            return None, f"the bot knows no bake of `{newest.ami_id}`: `/bake rollout {target.name} {newest.ami_id}`"
        if bake.request_id not in offered:
            self._buttons.offer(bake)
            offered.add(bake.request_id)
        return rollout_start_key(bake.request_id, target.name), ""
