"""Rolling redeploys as the handlers and the wiring see them: one rollout per target at a time, started
(start.py) and followed to its end (follow.py), over one book of records (book.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.access.service import Access
from bot.bakes.record import Bake
from bot.bakes.service import BakeService
from bot.config import Config, TargetConfig
from bot.config.model import Where
from bot.domain import commands
from bot.domain.ports import Fleet, Images, StateStore
from bot.domain.replies import RolloutApproved, RolloutCanceled, RolloutCanceling, RolloutOpened, RolloutRollingBack
from bot.domain.times import utc_now
from bot.fleet.refusal import RevocationOf, never_revoked
from bot.lifecycle.locks import ImageLocks
from bot.rollouts.book import LOCK, ROLLOUT, RolloutBook
from bot.rollouts.buttons import RolloutButtons
from bot.rollouts.follow import RolloutFollow
from bot.rollouts.record import Rollout, new_rollout_id
from bot.rollouts.start import RolloutStart
from bot.trains.book import TrainBook

__all__ = ["LOCK", "ROLLOUT", "RolloutService", "new_rollout_id"]


class RolloutService:
    def __init__(
        self,
        *,
        config: Config,
        store: StateStore,
        access: Access,
        bakes: BakeService,
        buttons: RolloutButtons,
        fleet_for: Callable[[Where], Fleet],
        images_for: Callable[[Where], Images],
        board: Any,
        run_async: Callable[[Callable[[], None]], None],
        default_region: str = "",
        poll_interval: float = 10.0,
        clock: Callable[[], datetime] = utc_now,
        wall: Callable[[], float] = time.time,
        new_id: Callable[[], str] = new_rollout_id,
        on_target_free: Callable[[str], None] = lambda target: None,  # a rollout ended: its target is free
        revoked: RevocationOf = never_revoked,  # §14: rollouts onto a revoked AMI are refused
    ):
        self._book = RolloutBook(store=store, board=board, clock=clock, on_free=on_target_free)
        self._starting = RolloutStart(
            config=config,
            book=self._book,
            access=access,
            bakes=bakes,
            buttons=buttons,
            fleet_for=fleet_for,
            images_for=images_for,
            run_async=run_async,
            default_region=default_region,
            new_id=new_id,
            train_starter=TrainBook(store=store).starter,  # four-eyes across a release train
            revoked=revoked,
            image_lock=ImageLocks(store).for_rollout,  # rollouts and lifecycle sweeps exclude each other per image
        )
        self._following = RolloutFollow(
            book=self._book,
            access=access,
            fleet_of=lambda rollout: fleet_for(config.where(rollout.image, rollout.region)),
            run_async=run_async,
            poll_interval=poll_interval,
            wall=wall,
        )

    # --- reading -----------------------------------------------------------------------------

    def get(self, rollout_id: str) -> Rollout | None:
        return self._book.get(rollout_id)

    def active(self) -> list[Rollout]:
        return self._book.active()

    def region_of(self, target: TargetConfig) -> str:
        return self._starting.region_of(target)

    # --- starting (start.py) -----------------------------------------------------------------

    def request(self, *, user: str, channel: str, command: commands.Rollout) -> RolloutOpened:
        """`/bake rollout <target> [<ami-id>]`."""
        return self._starting.request(user=user, channel=channel, command=command)

    def start_from_button(self, *, user: str, channel: str, key: str) -> RolloutOpened:
        return self._starting.start_from_button(user=user, channel=channel, key=key)

    def open_for_train(self, *, target: str, bake: Bake, train_id: str) -> str | None:
        """A train's rollout of `target` onto `bake`'s AMI (on_release: auto), once per train and target."""
        return self._starting.open_for_train(target=target, bake=bake, train_id=train_id)

    def approve(self, *, user: str, rollout_id: str) -> RolloutApproved:
        return self._starting.approve(user=user, rollout_id=rollout_id)

    def recover(self) -> list[str]:
        """Finish starting what was approved but not started, unless a live replica is starting it (the ids
        taken on); polling resumes by itself."""
        return self._starting.recover()

    # --- following (follow.py) ---------------------------------------------------------------

    def cancel(self, *, user: str, rollout_id: str) -> RolloutCanceled | RolloutCanceling:
        return self._following.cancel(user=user, rollout_id=rollout_id)

    def rollback(self, *, user: str, rollout_id: str) -> RolloutRollingBack:
        return self._following.rollback(user=user, rollout_id=rollout_id)

    def poll_once(self) -> None:
        """Refresh every running rollout from Auto Scaling, each at most once per poll interval."""
        self._following.poll_once()
