"""Answers `/bake`: parses the text once, calls one service, and returns the answer as a fact."""

from __future__ import annotations

from collections.abc import Callable

from bot.bakes.record import Bake
from bot.bakes.service import BakeService
from bot.commands.answers import (
    Answer,
    BakeOpened,
    BakeReport,
    ImageLine,
    ImageList,
    RolloutReport,
    StatusList,
    TrainReport,
    Usage,
)
from bot.commands.parser import USAGE, parse_command
from bot.config import Config
from bot.domain import commands
from bot.domain.causes import Cause
from bot.domain.errors import BadRequest, NotFound
from bot.domain.links import CONSOLE, Links
from bot.domain.models import Ami
from bot.domain.times import iso, parse_time, utc_now
from bot.fleet.revoke import RevokeService
from bot.fleet.view import FleetView
from bot.lifecycle.gc import GcService
from bot.rollouts.service import RolloutService
from bot.trains.view import TrainView

LAST_BAKES = 5  # how many of the last bakes `/bake status` shows when nothing is in flight


class SlashCommands:
    def __init__(
        self,
        *,
        config: Config,
        bakes: BakeService,
        rollouts: RolloutService | None = None,
        trains: Callable[[str], TrainView | None] | None = None,
        links: Links = CONSOLE,
        fleet: FleetView | None = None,
        revoke: RevokeService | None = None,
        gc: GcService | None = None,
    ):
        self._revoke = revoke
        self._gc = gc
        self._config = config
        self._bakes = bakes
        self._rollouts = rollouts
        self._trains = trains
        self._links = links
        self._fleet = fleet

    def run(self, *, user: str, channel: str, text: str) -> Answer:
        """The answer to `/bake <text>`; refusals and failures are raised (handlers/errors.py answers them)."""
        return self._dispatch(parse_command(text), user=user, channel=channel)

    def _dispatch(self, command: commands.Command, *, user: str, channel: str) -> Answer:
        if isinstance(command, commands.Help):
            return Usage(USAGE, self._images(with_amis=False))
        if isinstance(command, commands.ListImages):
            return self._list()
        if isinstance(command, commands.Status):
            return self._status(command.subject)
        if isinstance(command, commands.Bake):
            bake = self._bakes.open_bake(user=user, request=command)
            return BakeOpened(request_id=bake.request_id, image=bake.image, channel=bake.channel)
        if isinstance(command, commands.Rollout):
            if self._rollouts is None:
                raise BadRequest("Rollouts are not enabled on this bot.")
            return self._rollouts.request(user=user, channel=channel, command=command)
        if isinstance(command, commands.FleetCommand):
            if self._fleet is None:
                raise BadRequest("The fleet view is not enabled on this bot.")
            return self._fleet.report(command.subject)
        if isinstance(command, commands.Revoke):
            if self._revoke is None:
                raise BadRequest("Revocation is not enabled on this bot.")
            return self._revoke.revoke(user=user, channel=channel, command=command)
        if isinstance(command, commands.Gc):
            if self._gc is None:
                raise BadRequest("The AMI lifecycle sweep is not enabled on this bot.")
            return self._gc.preview(user=user)
        raise BadRequest("I did not understand that. Try `/bake help`.")  # pragma: no cover

    def _list(self) -> ImageList:
        return ImageList(self._images(with_amis=True), own_account=self._config.bakery_account)

    def _images(self, *, with_amis: bool) -> tuple[ImageLine, ...]:
        lines = []
        for name, image in sorted(self._config.images.items()):
            summary = self._bakes.image_summary(name) if with_amis else {}
            lines.append(
                ImageLine(
                    name=name,
                    parent=image.parent,
                    amis=tuple(
                        Ami(region=a["region"], ami_id=a["ami_id"], account_id=a.get("account_id", ""))
                        for a in summary.get("amis", [])
                    ),
                    variables=tuple(sorted(image.variables.items())),
                    targets=tuple(sorted(t.name for t in self._config.targets.values() if t.image == name)),
                )
            )
        return tuple(lines)

    def _last_bakes(self) -> tuple[Bake, ...]:
        """The newest bakes of all images: a merge of each image's recent list (newest first), read lazily."""
        queues = {name: list(self._bakes.image_summary(name).get("recent", [])) for name in self._config.images}
        heads: dict[str, Bake] = {}

        def advance(name: str) -> None:
            heads.pop(name, None)
            while queues[name]:
                bake = self._bakes.get(queues[name].pop(0))
                if bake is not None:
                    heads[name] = bake
                    return

        for name in queues:
            advance(name)
        last: list[Bake] = []
        while heads and len(last) < LAST_BAKES:
            newest = max(heads, key=lambda n: parse_time(heads[n].requested_at))
            last.append(heads[newest])
            advance(newest)
        return tuple(last)

    def _causes(self, bake: Bake) -> tuple[Cause, ...]:
        """Why an automatic bake exists, back to the root: its cause, its parent bake's cause, …"""
        chain: list[Cause] = []
        cause = bake.cause
        while cause is not None and len(chain) < 10:
            chain.append(cause)
            parent = self._bakes.get(cause.request_id) if cause.request_id else None
            cause = parent.cause if parent else None
        return tuple(chain)

    def _status(self, subject: str | None) -> Answer:
        own = self._config.bakery_account
        if subject is not None and subject.startswith("t-") and self._trains is not None:
            view = self._trains(subject)
            if view is None:
                raise NotFound(f"There is no release train `{subject}`.")
            return TrainReport(view, now=iso(utc_now()), links=self._links, own_account=own)
        if subject is not None and subject.startswith("r-") and self._rollouts is not None:
            rollout = self._rollouts.get(subject)
            if rollout is None:
                raise NotFound(f"There is no rollout `{subject}`.")
            return RolloutReport(rollout)
        bakes = self._bakes.status(subject)
        rollouts = [r for r in self._rollouts.active() if not r.terminal] if self._rollouts and subject is None else []
        if len(bakes) == 1 and subject is not None and subject.startswith(("b-", "h-")):
            return BakeReport(bakes[0], causes=self._causes(bakes[0]), own_account=own)
        if subject is None and not bakes and not rollouts:
            images = tuple(sorted(self._config.images))
            return StatusList(None, (), last=self._last_bakes(), images=images, own_account=own)
        return StatusList(subject=subject, bakes=tuple(bakes), rollouts=tuple(rollouts), own_account=own)
