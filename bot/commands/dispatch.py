"""Answers `/bake`: parses the text once, calls one service, and renders the private reply."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.bakes.service import BakeService
from bot.commands import parser as commands
from bot.config import Config
from bot.domain.errors import BadRequest, BakeryError, NotAllowed, NotFound
from bot.slack.bake_blocks import bake_summary_line, ephemeral
from bot.slack.rollout_blocks import rollout_summary_line
from bot.slack.text import escape

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    text: str
    blocks: list[dict[str, Any]]

    @classmethod
    def of(cls, text: str) -> Answer:
        return cls(text=text, blocks=ephemeral(text))


class SlashCommands:
    def __init__(self, *, config: Config, bakes: BakeService, rollouts: Any = None):
        self._config = config
        self._bakes = bakes
        self._rollouts = rollouts

    def run(self, *, user: str, channel: str, text: str) -> Answer:
        try:
            command = commands.parse_command(text)
            return self._dispatch(command, user=user, channel=channel)
        except (BadRequest, NotAllowed, NotFound) as exc:
            log.info("command.refused user=%s reason=%s", user, exc)
            return Answer.of(f":no_entry_sign: {exc}")
        except BakeryError as exc:
            log.exception("command.failed user=%s", user)
            return Answer.of(f":warning: That did not work: {exc}")

    def _dispatch(self, command: commands.Command, *, user: str, channel: str) -> Answer:
        if isinstance(command, commands.Help):
            return Answer.of(commands.USAGE)
        if isinstance(command, commands.ListImages):
            return self._list()
        if isinstance(command, commands.Status):
            return self._status(command.subject)
        if isinstance(command, commands.Bake):
            bake = self._bakes.open_bake(user=user, request=command)
            where = f"<#{bake.channel}>"
            return Answer.of(
                f":bread: Bake `{bake.request_id}` of *{bake.image}* requested. Follow it in {where}; "
                f"`/bake status {bake.request_id}` tells where it stands."
            )
        if isinstance(command, commands.Rollout):
            if self._rollouts is None:
                raise BadRequest("Rollouts are not enabled on this bot.")
            return Answer.of(self._rollouts.request(user=user, channel=channel, command=command))
        raise BadRequest("I did not understand that. Try `/bake help`.")  # pragma: no cover

    def _list(self) -> Answer:
        lines = ["*Images*"]
        for name, image in sorted(self._config.images.items()):
            summary = self._bakes.image_summary(name)
            amis = ", ".join(f"`{a['ami_id']}` ({a['region']})" for a in summary.get("amis", [])) or "no AMI baked yet"
            parent = f" on top of *{image.parent}*" if image.parent else ""
            lines.append(f"• *{name}*{parent}: {amis}")
        return Answer.of("\n".join(lines))

    def _status(self, subject: str | None) -> Answer:
        if subject is not None and subject.startswith("r-") and self._rollouts is not None:
            return self._rollout_status(subject)
        bakes = self._bakes.status(subject)
        rollouts = [r for r in self._rollouts.active() if not r.terminal] if self._rollouts and subject is None else []
        if not bakes and not rollouts:
            return Answer.of("Nothing is baking right now." if subject is None else f"No bakes of *{subject}* yet.")
        if len(bakes) == 1 and subject is not None and subject.startswith(("b-", "h-")):
            bake = bakes[0]
            lines = [bake_summary_line(bake)]
            for name, step in bake.stages.items():
                lines.append(f"    • {name}: {step.state.lower()}")
            for a in bake.approvals:
                if a.open:
                    asked = a.request
                    where = f"{asked.stage}/{asked.action}"
                    lines.append(f"    :raised_hand: {where} waits for approval until {asked.expires}")
            if bake.decisions:
                lines.append("    *Decisions*")
            for d in bake.decisions:
                why = f" — {escape(d.reason)}" if d.reason else ""
                lines.append(f"    • {d.at} <@{d.user}> {d.verdict} {d.subject}: {escape(d.outcome)}{why}")
            if bake.error:
                lines.append(f"    :warning: {bake.error}")
            return Answer.of("\n".join(lines))
        header = "*In flight*" if subject is None else f"*Recent bakes of {subject}*"
        lines = [header, *(bake_summary_line(b) for b in bakes[:10]), *(rollout_summary_line(r) for r in rollouts)]
        return Answer.of("\n".join(lines))

    def _rollout_status(self, rollout_id: str) -> Answer:
        rollout = self._rollouts.get(rollout_id)
        if rollout is None:
            raise NotFound(f"There is no rollout `{rollout_id}`.")
        lines = [rollout_summary_line(rollout)]
        if rollout.version:
            lines.append(f"    • launch template version {rollout.version} (was {rollout.previous_version})")
        if rollout.refresh_id:
            lines.append(f"    • refresh `{rollout.refresh_id}`: {rollout.refresh_status} {rollout.percentage}%")
        if rollout.decisions:
            lines.append("    *Decisions*")
        for d in rollout.decisions:
            lines.append(f"    • {d.at} <@{d.user}> {d.verdict}: {escape(d.outcome)}")
        if rollout.error:
            lines.append(f"    :warning: {escape(rollout.error)}")
        return Answer.of("\n".join(lines))
