"""Answers `/bake`: parses the text once, calls one service, and returns the answer as a fact."""

from __future__ import annotations

from bot.bakes.service import BakeService
from bot.commands.answers import (
    Answer,
    BakeOpened,
    BakeReport,
    ImageLine,
    ImageList,
    RolloutReport,
    StatusList,
    Usage,
)
from bot.commands.parser import USAGE, parse_command
from bot.config import Config
from bot.domain import commands
from bot.domain.errors import BadRequest, NotFound
from bot.rollouts.service import RolloutService


class SlashCommands:
    def __init__(self, *, config: Config, bakes: BakeService, rollouts: RolloutService | None = None):
        self._config = config
        self._bakes = bakes
        self._rollouts = rollouts

    def run(self, *, user: str, channel: str, text: str) -> Answer:
        """The answer to `/bake <text>`; refusals and failures are raised (handlers/errors.py answers them)."""
        return self._dispatch(parse_command(text), user=user, channel=channel)

    def _dispatch(self, command: commands.Command, *, user: str, channel: str) -> Answer:
        if isinstance(command, commands.Help):
            return Usage(USAGE)
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
        raise BadRequest("I did not understand that. Try `/bake help`.")  # pragma: no cover

    def _list(self) -> ImageList:
        lines = []
        for name, image in sorted(self._config.images.items()):
            amis = tuple((a["ami_id"], a["region"]) for a in self._bakes.image_summary(name).get("amis", []))
            lines.append(ImageLine(name=name, parent=image.parent, amis=amis))
        return ImageList(tuple(lines))

    def _status(self, subject: str | None) -> Answer:
        if subject is not None and subject.startswith("r-") and self._rollouts is not None:
            rollout = self._rollouts.get(subject)
            if rollout is None:
                raise NotFound(f"There is no rollout `{subject}`.")
            return RolloutReport(rollout)
        bakes = self._bakes.status(subject)
        rollouts = [r for r in self._rollouts.active() if not r.terminal] if self._rollouts and subject is None else []
        if len(bakes) == 1 and subject is not None and subject.startswith(("b-", "h-")):
            return BakeReport(bakes[0])
        return StatusList(subject=subject, bakes=tuple(bakes), rollouts=tuple(rollouts))
