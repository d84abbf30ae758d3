"""Rolling redeploys: one rollout per target at a time, a pinned launch template version, an instance
refresh followed at a bounded rate, cancel and rollback, and the target released on every end."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.access.service import Access
from bot.bakes.record import Bake
from bot.bakes.service import BakeService
from bot.config import Config, TargetConfig
from bot.domain import commands
from bot.domain.errors import (
    BadRequest,
    BakeryError,
    FleetError,
    IrreversibleRefresh,
    NoActiveRefresh,
    NotAllowed,
    NotFound,
    RefreshInProgress,
)
from bot.domain.ids import random_id
from bot.domain.models import TAG_IMAGE, TAG_REQUEST_ID, Decision, NoticeKind, Verdict
from bot.domain.ports import Fleet, Images, StateStore
from bot.domain.records import rewrite_shown
from bot.domain.replies import RolloutApproved, RolloutCanceled, RolloutCanceling, RolloutOpened, RolloutRollingBack
from bot.domain.times import iso, utc_now
from bot.rollouts.buttons import RolloutButtons
from bot.rollouts.errors import AmiOfAnotherImage, RolloutMovedOn
from bot.rollouts.record import Rollout, RolloutStatus, rollout_index

log = logging.getLogger(__name__)

ROLLOUT = "rollout"
LOCK = "target-lock"


def new_rollout_id() -> str:
    return random_id("r")


class RolloutService:
    def __init__(
        self,
        *,
        config: Config,
        store: StateStore,
        access: Access,
        bakes: BakeService,
        buttons: RolloutButtons,
        fleet_for: Callable[[str | None], Fleet],
        images_for: Callable[[str | None], Images],
        board: Any,
        run_async: Callable[[Callable[[], None]], None],
        default_region: str = "",
        poll_interval: float = 10.0,
        clock: Callable[[], datetime] = utc_now,
        wall: Callable[[], float] = time.time,
        new_id: Callable[[], str] = new_rollout_id,
    ):
        self._config = config
        self._store = store
        self._access = access
        self._bakes = bakes
        self._buttons = buttons
        self._fleet_for = fleet_for
        self._images_for = images_for
        self._board = board
        self._run_async = run_async
        self._default_region = default_region
        self._poll_interval = poll_interval
        self._clock = clock
        self._wall = wall
        self._new_id = new_id

    # --- reading -----------------------------------------------------------------------------

    def get(self, rollout_id: str) -> Rollout | None:
        rec = self._store.get(ROLLOUT, rollout_id) if rollout_id.startswith("r-") and len(rollout_id) < 20 else None
        return Rollout.from_doc(rec.doc) if rec else None

    def active(self) -> list[Rollout]:
        return [Rollout.from_doc(r.doc) for r in self._store.find(ROLLOUT, "active")]

    def region_of(self, target: TargetConfig) -> str:
        image = self._config.images[target.image]
        return target.region or image.region or self._default_region

    # --- asking for a rollout ----------------------------------------------------------------

    def request(self, *, user: str, channel: str, command: commands.Rollout) -> RolloutOpened:
        """`/bake rollout <target> [<ami-id>]`: check everything, take the target, then start or ask."""
        target = self._config.targets.get(command.target)
        if target is None:
            known = ", ".join(f"`{n}`" for n in sorted(self._config.targets)) or "none are configured"
            raise BadRequest(f"There is no target `{command.target}`. Targets: {known}.")
        self._access.require(user, "deployers")
        region = self.region_of(target)
        ami_id = command.ami_id or self._latest_ami(target, region)
        bake = self._check_ami(target, region, ami_id)
        return self._open(user=user, channel=channel, target=target, region=region, ami_id=ami_id, bake=bake)

    def start_from_button(self, *, user: str, channel: str, key: str) -> RolloutOpened:
        offered = self._buttons.lookup(key)
        if offered is None:
            raise NotFound("I do not know this button (it may belong to another bot or be very old).")
        bake = self._bakes.get(offered[0])
        target = self._config.targets.get(offered[1])
        if bake is None or target is None:
            raise NotFound("That bake or target no longer exists in the configuration.")
        self._access.require(user, "deployers")
        region = self.region_of(target)
        ami = next((a for a in bake.amis if a.region == region), None)
        if ami is None:
            raise BadRequest(f"Bake `{bake.request_id}` made no AMI in {region}, where `{target.name}` runs.")
        self._check_ami(target, region, ami.ami_id)
        return self._open(user=user, channel=channel, target=target, region=region, ami_id=ami.ami_id, bake=bake)

    def _latest_ami(self, target: TargetConfig, region: str) -> str:
        for ami in self._bakes.image_summary(target.image).get("amis") or []:
            if ami.get("region") == region:
                return ami["ami_id"]
        raise BadRequest(
            f"No AMI of *{target.image}* in {region} is known yet: bake one with `/bake {target.image}`, "
            f"or name the AMI: `/bake rollout {target.name} ami-…`."
        )

    def _check_ami(self, target: TargetConfig, region: str, ami_id: str) -> Bake | None:
        """The AMI must exist, be available and be an image of the target's image; returns its bake if known."""
        info = self._images_for(region).describe(ami_id)
        if info is None:
            raise BadRequest(f"There is no AMI `{ami_id}` in {region}.")
        if info.state != "available":
            raise BadRequest(f"AMI `{ami_id}` is {info.state}, not available; it cannot be rolled out.")
        tagged = info.tags.get(TAG_IMAGE)
        if tagged != target.image:
            raise AmiOfAnotherImage(ami_id=ami_id, tagged=tagged, target=target.name, image=target.image, tag=TAG_IMAGE)
        request_id = info.tags.get(TAG_REQUEST_ID, "")
        return self._bakes.get(request_id) if request_id[:2] in ("b-", "h-") else None

    def _open(
        self, *, user: str, channel: str, target: TargetConfig, region: str, ami_id: str, bake: Bake | None
    ) -> RolloutOpened:
        rollout_id = self._new_id()
        now = iso(self._clock())
        self._lock(target.name, {"rollout_id": rollout_id, "ami_id": ami_id, "user": user, "since": now})
        in_thread = bake is not None and bool(bake.message_ts)
        rollout = Rollout(
            rollout_id=rollout_id,
            target=target.name,
            image=target.image,
            ami_id=ami_id,
            region=region,
            auto_scaling_group=target.auto_scaling_group,
            requested_by=user,
            requested_at=now,
            channel=bake.channel if in_thread and bake else channel,
            thread_ts=bake.message_ts if in_thread and bake else "",
            request_id=bake.request_id if bake else "",
            approval_needed=target.approval,
            status=RolloutStatus.AWAITING_APPROVAL if target.approval else RolloutStatus.STARTING,
            updated_at=now,
        )
        doc = rollout.to_doc()
        self._store.create(ROLLOUT, rollout_id, doc, index=rollout_index(doc))
        log.info("rollout.opened rollout_id=%s target=%s ami=%s user=%s", rollout_id, target.name, ami_id, user)
        self._board.mark_dirty(rollout_id)
        if not target.approval:
            self._run_async(lambda: self._start(rollout_id))
        return RolloutOpened(rollout_id=rollout_id, target=target.name, ami_id=ami_id, awaits_approval=target.approval)

    def _lock(self, target: str, holder: dict[str, str]) -> None:
        for _ in range(3):
            if self._store.create(LOCK, target, holder):
                return
            rec = self._store.get(LOCK, target)
            if rec is None:
                continue
            current = self.get(rec.doc.get("rollout_id", ""))
            if current is None or current.terminal:
                # Its rollout ended but the release was lost (a crash between the two writes): take it back.
                self._store.delete(LOCK, target, expected_version=rec.version)
                continue
            raise BadRequest(
                f"`{target}` is taken: <@{rec.doc['user']}> is rolling it onto `{rec.doc['ami_id']}` since "
                f"{rec.doc['since']} (rollout `{rec.doc['rollout_id']}`). One rollout per target at a time."
            )
        raise BakeryError(f"Could not take `{target}`; please try again.")

    def _release(self, rollout: Rollout) -> None:
        rec = self._store.get(LOCK, rollout.target)
        if rec and rec.doc.get("rollout_id") == rollout.rollout_id:
            self._store.delete(LOCK, rollout.target, expected_version=rec.version)
            log.info("rollout.released rollout_id=%s target=%s", rollout.rollout_id, rollout.target)

    # --- buttons on a rollout's message ------------------------------------------------------

    def approve(self, *, user: str, rollout_id: str) -> RolloutApproved:
        rollout = self._get(rollout_id)
        if rollout.status != RolloutStatus.AWAITING_APPROVAL:
            raise self._moved_on(rollout, "waiting for approval")
        self._access.require(user, "approvers")
        if user == rollout.requested_by:
            raise NotAllowed("You asked for this rollout, so someone else must approve it (four-eyes).")
        now = iso(self._clock())

        def take(r: Rollout) -> Rollout | None:
            if r.status != RolloutStatus.AWAITING_APPROVAL:
                return None
            decision = Decision(
                subject=f"rollout {r.rollout_id}", user=user, verdict=Verdict.APPROVE, at=now, outcome="approved"
            )
            return replace(r, status=RolloutStatus.STARTING, approved_by=user, approved_at=now).with_decision(decision)

        after = self._mutate(rollout_id, take)
        if after is None or after.approved_by != user or after.approved_at != now:
            raise self._moved_on(self._get(rollout_id), "waiting for approval")
        self._run_async(lambda: self._start(rollout_id))
        return RolloutApproved(rollout_id=rollout_id)

    def cancel(self, *, user: str, rollout_id: str) -> RolloutCanceled | RolloutCanceling:
        rollout = self._get(rollout_id)
        self._access.require(user, "deployers")
        now = iso(self._clock())
        decision = Decision(subject=f"rollout {rollout_id}", user=user, verdict=Verdict.CANCEL, at=now, outcome="")
        if rollout.status == RolloutStatus.AWAITING_APPROVAL:
            after = self._mutate(
                rollout_id,
                lambda r: (
                    self._ended(r, RolloutStatus.CANCELED, "cancelled before it started").with_decision(
                        replace(decision, outcome="cancelled before it started")
                    )
                    if r.status == RolloutStatus.AWAITING_APPROVAL
                    else None
                ),
            )
            if after is None:
                raise self._moved_on(self._get(rollout_id), "waiting for approval")
            self._release(after)
            return RolloutCanceled(rollout_id=rollout_id, target=rollout.target)
        claimed = self._claim(
            rollout_id,
            RolloutStatus.IN_PROGRESS,
            RolloutStatus.CANCELING,
            replace(decision, outcome="cancel requested"),
        )
        if not claimed:
            raise self._moved_on(self._get(rollout_id), "running")
        self._run_async(lambda: self._aws_stop(rollout_id, rollback=False))
        return RolloutCanceling(rollout_id=rollout_id)

    def rollback(self, *, user: str, rollout_id: str) -> RolloutRollingBack:
        self._get(rollout_id)
        self._access.require(user, "deployers")
        decision = Decision(
            subject=f"rollout {rollout_id}",
            user=user,
            verdict=Verdict.ROLLBACK,
            at=iso(self._clock()),
            outcome="rollback requested",
        )
        claimed = self._claim(
            rollout_id, RolloutStatus.IN_PROGRESS, RolloutStatus.ROLLING_BACK, decision
        ) or self._claim(rollout_id, RolloutStatus.CANCELING, RolloutStatus.ROLLING_BACK, decision)
        if not claimed:
            raise self._moved_on(self._get(rollout_id), "running")
        self._run_async(lambda: self._aws_stop(rollout_id, rollback=True))
        return RolloutRollingBack(rollout_id=rollout_id)

    def _claim(self, rollout_id: str, expected: RolloutStatus, new: RolloutStatus, decision: Decision) -> bool:
        after = self._mutate(
            rollout_id,
            lambda r: replace(r, status=new, polled_at=0.0).with_decision(decision) if r.status == expected else None,
        )
        return after is not None and decision in after.decisions and after.status == new

    # --- the AWS side (bake workers and the poller; never a Slack listener) ------------------

    def _start(self, rollout_id: str) -> None:
        rollout = self.get(rollout_id)
        if rollout is None or rollout.status != RolloutStatus.STARTING:
            return
        target = self._config.targets[rollout.target]
        fleet = self._fleet_for(rollout.region)
        try:
            if not rollout.version:
                ref = fleet.launch_template_of(rollout.auto_scaling_group)
                version = fleet.new_version_with_image(
                    ref.id,
                    rollout.ami_id,
                    source_version=ref.default_version,
                    description=f"ami-bakery {rollout_id}: {rollout.ami_id}"[:255],
                )
                rollout = (
                    self._mutate(
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
            refresh_id = fleet.start_refresh(
                rollout.auto_scaling_group,
                rollout.template_id,
                rollout.version,
                min_healthy_percentage=target.min_healthy_percentage,
                instance_warmup=target.instance_warmup,
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
        self._mutate(
            rollout_id,
            lambda r: (
                replace(
                    r, status=RolloutStatus.IN_PROGRESS, refresh_id=refresh_id, refresh_status="Pending", polled_at=0.0
                )
                if r.status == RolloutStatus.STARTING
                else replace(r, refresh_id=refresh_id)
            ),
        )

    def _fail_start(self, rollout_id: str, why: str) -> None:
        log.warning("rollout.start_failed rollout_id=%s error=%s", rollout_id, why)
        after = self._mutate(
            rollout_id, lambda r: self._ended(replace(r, error=why), RolloutStatus.ERROR, f"could not start: {why}")
        )
        if after:
            self._release(after)

    def _aws_stop(self, rollout_id: str, *, rollback: bool) -> None:
        rollout = self.get(rollout_id)
        if rollout is None:
            return
        fleet = self._fleet_for(rollout.region)
        try:
            if rollback:
                fleet.rollback_refresh(rollout.auto_scaling_group)
            else:
                fleet.cancel_refresh(rollout.auto_scaling_group)
        except (NoActiveRefresh, IrreversibleRefresh, FleetError) as exc:
            log.warning("rollout.stop_failed rollout_id=%s rollback=%s error=%s", rollout_id, rollback, exc)
            failure = str(exc)
            # Whatever Auto Scaling now says is the truth: poll at once, and say why the button did nothing.
            self._mutate(
                rollout_id,
                lambda r: replace(
                    r, status=RolloutStatus.IN_PROGRESS if not r.terminal else r.status, polled_at=0.0
                ).with_notice(
                    f"stop-failed:{len(r.notices)}",
                    NoticeKind.STOP_FAILED,
                    rollout_id=rollout_id,
                    rollback=rollback,
                    error=failure,
                ),
            )

    def recover(self) -> None:
        """After a restart: finish starting what was approved but not started; polling resumes by itself."""
        for rollout in self.active():
            if rollout.status == RolloutStatus.STARTING and not rollout.refresh_id:
                self._run_async(lambda rid=rollout.rollout_id: self._start(rid))
            else:
                self._board.mark_dirty(rollout.rollout_id)

    def poll_once(self) -> None:
        """Refresh every running rollout from describe_instance_refreshes, each at most once per interval."""
        now = self._wall()
        for rollout in self.active():
            if not rollout.status.polled or not rollout.refresh_id:
                continue
            if now - rollout.polled_at < self._poll_interval:
                continue
            try:
                refresh = self._fleet_for(rollout.region).describe_refresh(
                    rollout.auto_scaling_group, rollout.refresh_id
                )
            except FleetError:
                log.warning("rollout.poll_failed rollout_id=%s", rollout.rollout_id, exc_info=True)
                self._mutate(rollout.rollout_id, lambda r: replace(r, polled_at=now))
                continue
            self._apply_refresh(rollout.rollout_id, refresh, now)

    def _apply_refresh(self, rollout_id: str, refresh: Any, now: float) -> None:
        status = RolloutStatus.of_refresh(refresh.status)
        if status == RolloutStatus.SUCCEEDED:
            rollout = self.get(rollout_id)
            if rollout and rollout.status != RolloutStatus.SUCCEEDED:
                try:
                    self._fleet_for(rollout.region).set_default_version(rollout.template_id, rollout.version)
                except FleetError as exc:
                    failure = str(exc)
                    self._mutate(
                        rollout_id,
                        lambda r: r.with_notice(
                            "default-version", NoticeKind.DEFAULT_VERSION_FAILED, version=r.version, error=failure
                        ),
                    )

        def change(r: Rollout) -> Rollout | None:
            if r.terminal:
                return None
            new = replace(
                r,
                refresh_status=refresh.status,
                percentage=refresh.percentage,
                instances_to_update=refresh.instances_to_update,
                status_reason=refresh.status_reason,
                polled_at=now,
            )
            if not status.polled:
                return self._ended(new, status, refresh.status_reason)
            # A cancel or rollback we asked for stays shown until Auto Scaling reports it.
            if (
                r.status in (RolloutStatus.CANCELING, RolloutStatus.ROLLING_BACK)
                and status == RolloutStatus.IN_PROGRESS
            ):
                return new
            return replace(new, status=status)

        after = self._mutate(rollout_id, change)
        if after is not None and after.terminal:
            self._release(after)
            log.info("rollout.ended rollout_id=%s status=%s", rollout_id, after.status)

    def _ended(self, rollout: Rollout, status: RolloutStatus, detail: str) -> Rollout:
        ended = replace(rollout, status=status, finished_at=iso(self._clock()))
        return ended.with_notice(
            f"ended:{status}",
            NoticeKind.ROLLOUT_ENDED,
            rollout_id=ended.rollout_id,
            target=ended.target,
            ami_id=ended.ami_id,
            status=status.value,
            version=ended.version,
            detail=detail,
        )

    # --- helpers -----------------------------------------------------------------------------

    def _get(self, rollout_id: str) -> Rollout:
        rollout = self.get(rollout_id)
        if rollout is None:
            raise NotFound("I do not know this rollout (it may belong to another bot or be very old).")
        return rollout

    @staticmethod
    def _moved_on(rollout: Rollout, wanted: str) -> RolloutMovedOn:
        return RolloutMovedOn(
            rollout_id=rollout.rollout_id, wanted=wanted, status=rollout.status, approved_by=rollout.approved_by
        )

    def _mutate(self, rollout_id: str, change: Callable[[Rollout], Rollout | None]) -> Rollout | None:
        return rewrite_shown(
            self._store,
            ROLLOUT,
            rollout_id,
            load=Rollout.from_doc,
            change=change,
            index_fn=rollout_index,
            now=lambda: iso(self._clock()),
            mark_dirty=self._board.mark_dirty,
        )
