"""A rollout's start on AWS, once among replicas: a pinned launch template version, then the instance refresh.

Runs on a bake worker, never a Slack listener. The replica starting a rollout claims it on its record (`starter`,
`start_claim_until`), so another replica's recovery leaves it alone while that claim holds. A rollout whose
claim lapsed (its replica died mid-start) is taken over: the launch template version a dead replica made is
found by its description (`ami-bakery <rollout id>: <ami>`) instead of made again, and an instance refresh
already running onto that version is adopted (DescribeInstanceRefreshes; also when StartInstanceRefresh answers
InstanceRefreshInProgress) instead of started again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime

from bot.config import Config
from bot.config.model import Where
from bot.domain.errors import FleetError, RefreshInProgress
from bot.domain.fencing import FenceLost
from bot.domain.ports import Fleet
from bot.fleet.refusal import AmiRevoked, RevocationOf
from bot.observe.context import bound
from bot.rollouts.book import RolloutBook
from bot.rollouts.record import Rollout, RolloutStatus
from bot.runtime import failpoints

log = logging.getLogger(__name__)

CLAIM_SECONDS = 120.0  # a start is a few AWS calls; a claim this old is a dead replica's


class RolloutLaunch:
    def __init__(
        self,
        *,
        config: Config,
        book: RolloutBook,
        fleet_for: Callable[[Where], Fleet],
        run_async: Callable[[Callable[[], None]], None],
        revoked: RevocationOf,
        image_lock: Callable[[str, str, str], AbstractContextManager[None]],
        holder: str,
        clock: Callable[[], float] = lambda: datetime.now(UTC).timestamp(),
    ):
        self._config = config
        self._book = book
        self._fleet_for = fleet_for
        self._run_async = run_async
        self._revoked = revoked
        self._image_lock = image_lock
        self._holder = holder
        self._clock = clock

    def held_elsewhere(self, rollout: Rollout) -> bool:
        return bool(rollout.starter) and rollout.starter != self._holder and rollout.start_claim_until > self._clock()

    def recover(self) -> list[str]:
        """Start what was approved but not started, unless a live replica is starting it; the ids taken on."""
        taken = []
        for rollout in self._book.active():
            if rollout.status == RolloutStatus.STARTING and not rollout.refresh_id:
                if not self.held_elsewhere(rollout):
                    log.info(
                        "rollout.start_recovered rollout_id=%s from=%s", rollout.rollout_id, rollout.starter or "-"
                    )
                    self._run_async(lambda rid=rollout.rollout_id: self.start(rid))  # type: ignore[misc]
                    taken.append(rollout.rollout_id)
            else:
                self._book.mark_dirty(rollout.rollout_id)
        return taken

    def start(self, rollout_id: str) -> None:
        found = self._book.get(rollout_id)
        if found is None:
            return
        try:
            with (
                bound(rollout_id=rollout_id, train_id=found.train_id),  # the start's log lines carry them
                self._image_lock(found.image, f"rollout:{rollout_id}", ""),
            ):
                self._start_locked(rollout_id)
        except FenceLost as exc:  # a recovery under a lease that lapsed: another replica leads now
            log.warning("rollout.start_fenced rollout_id=%s lease=%s", rollout_id, exc.fence.name)

    def _claim(self, rollout_id: str) -> tuple[Rollout, bool] | None:
        """Take the start of a 'starting' rollout: (the rollout, whether another replica had begun it), or None."""
        before: list[Rollout] = []

        def take(r: Rollout) -> Rollout | None:
            before[:] = [r]
            if r.status != RolloutStatus.STARTING or r.refresh_id or self.held_elsewhere(r):
                return None
            return replace(r, starter=self._holder, start_claim_until=self._clock() + CLAIM_SECONDS)

        after = self._book.mutate(rollout_id, take)
        if after is None or after.starter != self._holder:
            return None
        return after, bool(before and before[0].starter and before[0].starter != self._holder)

    def _start_locked(self, rollout_id: str) -> None:
        claimed = self._claim(rollout_id)
        if claimed is None:
            return
        rollout, taken_over = claimed
        revoked = self._revoked(rollout.ami_id)
        if revoked is not None:  # revoked while it waited for approval (or a worker): it never starts (§14)
            self._fail_start(rollout_id, str(AmiRevoked(revoked, "rolled out")))
            return
        target = self._config.targets[rollout.target]
        fleet = self._fleet_for(self._config.where(rollout.image, rollout.region))
        try:
            if not rollout.version:
                ref = fleet.launch_template_of(rollout.auto_scaling_group)
                description = f"ami-bakery {rollout_id}: {rollout.ami_id}"[:255]
                made = (
                    fleet.version_described(template_id=ref.id, latest=ref.latest_version, description=description)
                    if taken_over
                    else None
                )
                version = made or fleet.new_version_with_image(
                    template_id=ref.id,
                    ami_id=rollout.ami_id,
                    source_version=ref.default_version,
                    description=description,
                )
                rollout = (
                    self._book.mutate(
                        rollout_id,
                        lambda r: replace(
                            r,
                            template_id=ref.id,
                            template_name=ref.name,
                            previous_version=ref.default_version,
                            version=version,
                        ),
                    )
                    or rollout
                )
            refresh_id = self._refresh(
                fleet, rollout, target.min_healthy_percentage, target.instance_warmup, taken_over
            )
        except RefreshInProgress:
            self._fail_start(
                rollout_id,
                (
                    f"Auto Scaling group `{rollout.auto_scaling_group}` already has an instance refresh running "
                    "(started outside this rollout). Not retried: wait for it or cancel it, then ask again."
                ),
            )
            return
        except FleetError as exc:
            self._fail_start(rollout_id, str(exc))
            return
        log.info("rollout.started rollout_id=%s refresh_id=%s version=%s", rollout_id, refresh_id, rollout.version)
        self._book.mutate(
            rollout_id,
            lambda r: (
                replace(
                    r,
                    status=RolloutStatus.IN_PROGRESS,
                    refresh_id=refresh_id,
                    refresh_status="Pending",
                    polled_at=0.0,
                    start_claim_until=0.0,
                )
                if r.status == RolloutStatus.STARTING
                else replace(r, refresh_id=refresh_id, start_claim_until=0.0)
            ),
        )

    def _refresh(self, fleet: Fleet, rollout: Rollout, min_healthy: int, warmup: int, taken_over: bool) -> str:
        """The refresh onto the rollout's version: one already running (a dead replica's) adopted, else started."""
        group, template_id, version = rollout.auto_scaling_group, rollout.template_id, rollout.version
        running = fleet.refresh_of(group=group, template_id=template_id, version=version) if taken_over else None
        if running:
            log.info("rollout.refresh_adopted rollout_id=%s refresh_id=%s", rollout.rollout_id, running)
            return running
        try:
            refresh_id = fleet.start_refresh(
                group=group,
                template_id=template_id,
                version=version,
                min_healthy_percentage=min_healthy,
                instance_warmup=warmup,
            )
        except RefreshInProgress:
            # Ours, started by a replica whose claim we did not see lapse (or a slow answer we retried)?
            running = fleet.refresh_of(group=group, template_id=template_id, version=version)
            if not running:
                raise
            log.info("rollout.refresh_adopted rollout_id=%s refresh_id=%s", rollout.rollout_id, running)
            return running
        failpoints.failpoint("rollout.refresh.started")
        return refresh_id

    def _fail_start(self, rollout_id: str, why: str) -> None:
        log.warning("rollout.start_failed rollout_id=%s error=%s", rollout_id, why)
        ended = self._book.ended
        after = self._book.mutate(
            rollout_id, lambda r: ended(replace(r, error=why), RolloutStatus.ERROR, f"could not start: {why}")
        )
        if after:
            self._book.release(after)
