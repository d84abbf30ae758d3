"""Starting a rollout: who asks and onto which AMI, the checks, the target's lock, the approval gate, then a
pinned launch template version and the instance refresh (on a bake worker, never a Slack listener)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace

from bot.access.service import Access
from bot.bakes.record import Bake
from bot.bakes.service import BakeService
from bot.config import Config, TargetConfig
from bot.config.model import Where
from bot.domain import commands
from bot.domain.causes import BAKERY_USER
from bot.domain.errors import BadRequest, NotAllowed, NotFound
from bot.domain.ids import random_id
from bot.domain.models import TAG_IMAGE, TAG_REQUEST_ID, Decision, Verdict
from bot.domain.ports import Fleet, Images
from bot.domain.replies import RolloutApproved, RolloutOpened
from bot.fleet.refusal import RevocationOf, never_revoked, refuse_revoked
from bot.rollouts.book import RolloutBook
from bot.rollouts.buttons import RolloutButtons
from bot.rollouts.errors import AmiOfAnotherImage
from bot.rollouts.launch import RolloutLaunch
from bot.rollouts.record import Rollout, RolloutStatus, new_rollout_id
from bot.rollouts.which_ami import bake_ami, latest_ami
from bot.runtime.leases import replica_id

log = logging.getLogger(__name__)


class RolloutStart:
    def __init__(
        self,
        *,
        config: Config,
        book: RolloutBook,
        access: Access,
        bakes: BakeService,
        buttons: RolloutButtons,
        fleet_for: Callable[[Where], Fleet],
        images_for: Callable[[Where], Images],
        run_async: Callable[[Callable[[], None]], None],
        default_region: str = "",
        new_id: Callable[[], str] = new_rollout_id,
        train_starter: Callable[[str], str] = lambda train_id: "",
        revoked: RevocationOf = never_revoked,  # §14: a revoked AMI is never rolled out
        # The image's lock, shared with the lifecycle sweep (bot/lifecycle/locks.py says why and when); it waits.
        image_lock: Callable[[str, str, str], AbstractContextManager[None]] = lambda image, holder, ami: nullcontext(),
    ):
        self._image_lock = image_lock
        self._launch = RolloutLaunch(
            config=config,
            book=book,
            fleet_for=fleet_for,
            run_async=run_async,
            revoked=revoked,
            image_lock=image_lock,
            holder=f"{replica_id()}:{random_id('s')}",
        )
        self._train_starter = train_starter
        self._revoked = revoked
        self._config = config
        self._book = book
        self._access = access
        self._bakes = bakes
        self._buttons = buttons
        self._fleet_for = fleet_for
        self._images_for = images_for
        self._run_async = run_async
        self._default_region = default_region
        self._new_id = new_id

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
        ami = bake_ami(bake, self._config, target, region)
        self._check_ami(target, region, ami.ami_id)
        return self._open(user=user, channel=channel, target=target, region=region, ami_id=ami.ami_id, bake=bake)

    def open_for_train(self, *, target: str, bake: Bake, train_id: str) -> str | None:
        """A released bake's train rolls `target` (on_release: auto): once per (train, target, bake), by the
        bakery; the target's approval still waits for an approver. Runs on the intake, never a listener."""
        config = self._config.targets[target]
        region = self.region_of(config)
        ami = bake_ami(bake, self._config, config, region)
        claim_key = f"{train_id}|{target}|{bake.request_id}"
        self._book.claim_for_train(claim_key, self._new_id())
        rollout_id = self._book.claimed_for_train(claim_key)
        if self._book.get(rollout_id) is not None:
            return rollout_id  # opened before (a redelivery, a restart)
        self._check_ami(config, region, ami.ami_id)
        self._open(
            user=BAKERY_USER,
            channel=bake.channel,
            target=config,
            region=region,
            ami_id=ami.ami_id,
            bake=bake,
            rollout_id=rollout_id,
            train_id=train_id,
        )
        return rollout_id

    def _latest_ami(self, target: TargetConfig, region: str) -> str:
        return latest_ami(self._bakes.image_summary(target.image), self._config, target, region)

    def _check_ami(self, target: TargetConfig, region: str, ami_id: str) -> Bake | None:
        """The AMI must not be revoked (§14; the store says so, no AWS call), must exist, be available and be an
        image of the target's image; returns its bake if known."""
        refuse_revoked(self._revoked, ami_id, f"rolled out to `{target.name}`")
        info = self._images_for(self._config.where(target.image, region)).describe(ami_id)
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
        self,
        *,
        user: str,
        channel: str,
        target: TargetConfig,
        region: str,
        ami_id: str,
        bake: Bake | None,
        rollout_id: str = "",
        train_id: str = "",
    ) -> RolloutOpened:
        rollout_id = rollout_id or self._new_id()
        now = self._book.now()
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
            train_id=train_id or (bake.train_id if bake else ""),
            approval_needed=target.approval,
            status=RolloutStatus.AWAITING_APPROVAL if target.approval else RolloutStatus.STARTING,
            updated_at=now,
        )
        with self._image_lock(target.image, f"rollout:{rollout_id}", ami_id):
            self._book.lock(target.name, {"rollout_id": rollout_id, "ami_id": ami_id, "user": user, "since": now})
            self._book.create(rollout)
        log.info("rollout.opened rollout_id=%s target=%s ami=%s user=%s", rollout_id, target.name, ami_id, user)
        if not target.approval:
            self._run_async(lambda: self._start(rollout_id))
        return RolloutOpened(rollout_id=rollout_id, target=target.name, ami_id=ami_id, awaits_approval=target.approval)

    # --- the approval gate -------------------------------------------------------------------

    def approve(self, *, user: str, rollout_id: str) -> RolloutApproved:
        rollout = self._book.require(rollout_id)
        if rollout.status != RolloutStatus.AWAITING_APPROVAL:
            raise self._book.moved_on(rollout, "waiting for approval")
        self._access.require(user, "approvers")
        if user == rollout.requested_by:
            raise NotAllowed("You asked for this rollout, so someone else must approve it (four-eyes).")
        if rollout.train_id and user == self._train_starter(rollout.train_id):
            raise NotAllowed(
                f"You started release train `{rollout.train_id}`, "
                "so someone else must approve its rollouts (four-eyes)."
            )
        now = self._book.now()

        def take(r: Rollout) -> Rollout | None:
            if r.status != RolloutStatus.AWAITING_APPROVAL:
                return None
            decision = Decision(
                subject=f"rollout {r.rollout_id}", user=user, verdict=Verdict.APPROVE, at=now, outcome="approved"
            )
            return replace(r, status=RolloutStatus.STARTING, approved_by=user, approved_at=now).with_decision(decision)

        after = self._book.mutate(rollout_id, take)
        if after is None or after.approved_by != user or after.approved_at != now:
            raise self._book.moved_on(self._book.require(rollout_id), "waiting for approval")
        self._run_async(lambda: self._start(rollout_id))
        return RolloutApproved(rollout_id=rollout_id)

    def recover(self) -> list[str]:
        """Finish starting what was approved but not started (bot/rollouts/launch.py); the rollouts taken on."""
        return self._launch.recover()

    def _start(self, rollout_id: str) -> None:
        self._launch.start(rollout_id)
