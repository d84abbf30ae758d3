"""`/bake`'s private answers in words: status reports and every reply fact, as text and blocks; help and the
image list are bot/slack/image_help.py's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.commands.answers import (
    Answer,
    BakeOpened,
    BakeReport,
    ImageList,
    RolloutReport,
    StatusList,
    TrainReport,
    Usage,
)
from bot.commands.parser import quote
from bot.fleet.facts import FleetReport
from bot.fleet.revoke_facts import Revoked
from bot.lifecycle.report import GcPreview
from bot.slack.bake_blocks import Blocks, bake_summary_line, ephemeral
from bot.slack.fleet_blocks import fleet_message
from bot.slack.gc_blocks import gc_preview_message
from bot.slack.image_help import list_message, usage_message
from bot.slack.replies import reply_text
from bot.slack.revoke_blocks import revoke_message, revoke_private
from bot.slack.rollout_blocks import rollout_summary_line
from bot.slack.text import escape
from bot.slack.train_blocks import cause_chain, train_report

SHOWN_IMAGES = 20  # images named in `/bake status`'s hint; `/bake list` has them all


def answer_message(answer: Answer) -> tuple[str, Blocks]:
    """The private reply to `/bake`: its text, and the same text in section blocks."""
    own = _MESSAGES.get(type(answer))
    if own is not None:
        return own(answer)
    text = answer_text(answer)
    return text, ephemeral(text)


def answer_text(answer: Answer) -> str:
    """The whole reply in words (its blocks' texts, for the answers that need several)."""
    own = _MESSAGES.get(type(answer))
    if own is not None:
        return "\n\n".join(block["text"]["text"] for block in own(answer)[1] if "text" in block)
    # Answers of /bake's own, else a reply fact a service gave (a rollout opened, a refusal).
    return _TEXT.get(type(answer), reply_text)(answer)


def _bake_opened(a: BakeOpened) -> str:
    return (
        f":bread: Bake `{a.request_id}` of *{a.image}* requested. Follow it in <#{a.channel}>; "
        f"`/bake status {a.request_id}` tells where it stands."
    )


def _status_list(a: StatusList) -> str:
    if not a.bakes and not a.rollouts:
        return _nothing_in_flight(a) if a.subject is None else f"No bakes of *{a.subject}* yet."
    header = "*In flight*" if a.subject is None else f"*Recent bakes of {a.subject}*"
    bakes = [bake_summary_line(b, a.own_account) for b in a.bakes[:10]]
    lines = [header, *bakes, *(rollout_summary_line(r) for r in a.rollouts)]
    return "\n".join(lines)


def _nothing_in_flight(a: StatusList) -> str:
    """What was baked last, and how to start a bake of what there is."""
    lines = ["Nothing is baking right now."]
    if a.last:
        lines += ["*Last bakes*", *(bake_summary_line(b, a.own_account) for b in a.last)]
    else:
        lines.append("Nothing has been baked yet.")
    names = [f"*{name}*" for name in a.images[:SHOWN_IMAGES]]
    more = f" and {len(a.images) - SHOWN_IMAGES} more" if len(a.images) > SHOWN_IMAGES else ""
    lines.append(
        f"Start one with `/bake <image> [key=value ...] [reason]`; the images are {', '.join(names)}{more}. "
        "`/bake help` lists their variables."
    )
    return "\n".join(lines)


def _bake_report(a: BakeReport) -> str:
    bake = a.bake
    lines = [bake_summary_line(bake, a.own_account)]
    if a.causes:
        lines.append(f"    • caused by: {cause_chain(a.causes)}")
    if bake.train_id:
        lines.append(f"    • release train `{bake.train_id}` (`/bake status {bake.train_id}`)")
    for name, step in bake.stages.items():
        lines.append(f"    • {name}: {step.state.lower()}")
    for approval in bake.approvals:
        if approval.open:
            asked = approval.request
            where = f"{asked.stage}/{asked.action}"
            lines.append(f"    :raised_hand: {where} waits for approval until {asked.expires}")
    if bake.decisions:
        lines.append("    *Decisions*")
    for d in bake.decisions:
        why = f" — {escape(d.reason)}" if d.reason else ""
        lines.append(f"    • {d.at} <@{d.user}> {d.verdict} {d.subject}: {escape(d.outcome)}{why}")
    if bake.error:
        lines.append(f"    :warning: {bake.error}")
    return "\n".join(lines)


def _rollout_report(a: RolloutReport) -> str:
    rollout = a.rollout
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
    return "\n".join(lines)


_MESSAGES: dict[type, Callable[[Any], tuple[str, Blocks]]] = {
    Usage: usage_message,
    ImageList: list_message,
    FleetReport: fleet_message,
    Revoked: revoke_private,
    GcPreview: gc_preview_message,
}


def in_channel(answer: Answer) -> tuple[str, str, Blocks] | None:
    """(channel, text, blocks) of an answer that is everyone's news, posted where it was asked: a revocation
    made now (§14). None for the private answers (all the others, and a revoke that found it done already)."""
    if isinstance(answer, Revoked) and answer.first and answer.channel:
        text, blocks = revoke_message(answer)
        return answer.channel, text, blocks
    return None

_TEXT: dict[type, Callable[[Any], str]] = {
    BakeOpened: _bake_opened,
    StatusList: _status_list,
    BakeReport: _bake_report,
    RolloutReport: _rollout_report,
    TrainReport: lambda a: train_report(a.view, now=a.now, links=a.links, own_account=a.own_account),
}


def slashless_hint(command_text: str) -> str:
    """The private answer to `bake base` typed in the channel without its slash."""
    return f"Did you mean `/bake {quote(command_text)}`? Slash commands start with /"
