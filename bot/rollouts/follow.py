"""Following a running rollout: its refresh polled at a bounded rate, cancel and rollback, and how it ends
(the launch template's default version on success, the target released on every end)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot.access.service import Access
from bot.domain.errors import FleetError, IrreversibleRefresh, NoActiveRefresh
from bot.domain.models import Decision, NoticeKind, Verdict
from bot.domain.ports import Fleet
from bot.domain.replies import RolloutCanceled, RolloutCanceling, RolloutRollingBack
from bot.rollouts.book import RolloutBook
from bot.rollouts.record import Rollout, RolloutStatus

log = logging.getLogger(__name__)


class RolloutFollow:
    def __init__(
        self,
        *,
        book: RolloutBook,
        access: Access,
        fleet_of: Callable[[Rollout], Fleet],  # in the rollout's region and its image's account (§13)
        run_async: Callable[[Callable[[], None]], None],
        poll_interval: float = 10.0,
        wall: Callable[[], float] = time.time,
    ):
        self._book = book
        self._access = access
        self._fleet_of = fleet_of
        self._run_async = run_async
        self._poll_interval = poll_interval
        self._wall = wall

    # --- buttons on a running rollout's message ----------------------------------------------

    def cancel(self, *, user: str, rollout_id: str) -> RolloutCanceled | RolloutCanceling:
        rollout = self._book.require(rollout_id)
        self._access.require(user, "deployers")
        now = self._book.now()
        decision = Decision(subject=f"rollout {rollout_id}", user=user, verdict=Verdict.CANCEL, at=now, outcome="")
        if rollout.status == RolloutStatus.AWAITING_APPROVAL:
            after = self._book.mutate(
                rollout_id,
                lambda r: (
                    self._book.ended(r, RolloutStatus.CANCELED, "cancelled before it started").with_decision(
                        replace(decision, outcome="cancelled before it started")
                    )
                    if r.status == RolloutStatus.AWAITING_APPROVAL
                    else None
                ),
            )
            if after is None:
                raise self._book.moved_on(self._book.require(rollout_id), "waiting for approval")
            self._book.release(after)
            return RolloutCanceled(rollout_id=rollout_id, target=rollout.target)
        claimed = self._claim(
            rollout_id,
            RolloutStatus.IN_PROGRESS,
            RolloutStatus.CANCELING,
            replace(decision, outcome="cancel requested"),
        )
        if not claimed:
            raise self._book.moved_on(self._book.require(rollout_id), "running")
        self._run_async(lambda: self._aws_stop(rollout_id, rollback=False))
        return RolloutCanceling(rollout_id=rollout_id)

    def rollback(self, *, user: str, rollout_id: str) -> RolloutRollingBack:
        self._book.require(rollout_id)
        self._access.require(user, "deployers")
        decision = Decision(
            subject=f"rollout {rollout_id}",
            user=user,
            verdict=Verdict.ROLLBACK,
            at=self._book.now(),
            outcome="rollback requested",
        )
        claimed = self._claim(
            rollout_id, RolloutStatus.IN_PROGRESS, RolloutStatus.ROLLING_BACK, decision
        ) or self._claim(rollout_id, RolloutStatus.CANCELING, RolloutStatus.ROLLING_BACK, decision)
        if not claimed:
            raise self._book.moved_on(self._book.require(rollout_id), "running")
        self._run_async(lambda: self._aws_stop(rollout_id, rollback=True))
        return RolloutRollingBack(rollout_id=rollout_id)

    def _claim(self, rollout_id: str, expected: RolloutStatus, new: RolloutStatus, decision: Decision) -> bool:
        after = self._book.mutate(
            rollout_id,
            lambda r: replace(r, status=new, polled_at=0.0).with_decision(decision) if r.status == expected else None,
        )
        return after is not None and decision in after.decisions and after.status == new

    # --- the AWS side (bake workers and the poller; never a Slack listener) ------------------

    def _aws_stop(self, rollout_id: str, *, rollback: bool) -> None:
        rollout = self._book.get(rollout_id)
        if rollout is None:
            return
        fleet = self._fleet_of(rollout)
        try:
            if rollback:
                fleet.rollback_refresh(rollout.auto_scaling_group)
            else:
                fleet.cancel_refresh(rollout.auto_scaling_group)
        except (NoActiveRefresh, IrreversibleRefresh, FleetError) as exc:
            log.warning("rollout.stop_failed rollout_id=%s rollback=%s error=%s", rollout_id, rollback, exc)
            failure = str(exc)
            # Whatever Auto Scaling now says is the truth: poll at once, and say why the button did nothing.
            self._book.mutate(
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

    def poll_once(self) -> None:
        """Refresh every running rollout from describe_instance_refreshes, each at most once per interval."""
        now = self._wall()
        for rollout in self._book.active():
            if not rollout.status.polled or not rollout.refresh_id:
                continue
            if now - rollout.polled_at < self._poll_interval:
                continue
            try:
                refresh = self._fleet_of(rollout).describe_refresh(
                    group=rollout.auto_scaling_group, refresh_id=rollout.refresh_id
                )
            except FleetError:
                log.warning("rollout.poll_failed rollout_id=%s", rollout.rollout_id, exc_info=True)
                self._book.mutate(rollout.rollout_id, lambda r: replace(r, polled_at=now))
                continue
            self._apply_refresh(rollout.rollout_id, refresh, now)

    def _apply_refresh(self, rollout_id: str, refresh: Any, now: float) -> None:
        status = RolloutStatus.of_refresh(refresh.status)
        if status == RolloutStatus.SUCCEEDED:
            rollout = self._book.get(rollout_id)
            if rollout and rollout.status != RolloutStatus.SUCCEEDED:
                try:
                    self._fleet_of(rollout).set_default_version(
                        template_id=rollout.template_id, version=rollout.version
                    )
                except FleetError as exc:
                    failure = str(exc)
                    self._book.mutate(
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
                return self._book.ended(new, status, refresh.status_reason)
            # A cancel or rollback we asked for stays shown until Auto Scaling reports it.
            if (
                r.status in (RolloutStatus.CANCELING, RolloutStatus.ROLLING_BACK)
                and status == RolloutStatus.IN_PROGRESS
            ):
                return new
            return replace(new, status=status)

        after = self._book.mutate(rollout_id, change)
        if after is not None and after.terminal:
            self._book.release(after)
            log.info("rollout.ended rollout_id=%s status=%s", rollout_id, after.status)
