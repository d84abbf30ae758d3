"""Block Kit builders: pure functions from domain records to (fallback text, blocks); they never call Slack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.approvals.record import ApprovalState
from bot.bakes.record import Bake, StepState
from bot.domain.links import CONSOLE, Links
from bot.domain.models import STAGES, PipelineState
from bot.rollouts.record import Rollout, TargetRuns
from bot.slack.amis import ami_place, amis_words
from bot.slack.approval_blocks import approval_card
from bot.slack.bake_rollouts import rollout_blocks
from bot.slack.bake_state import approval_step_words, current_approvals, header_words, released
from bot.slack.dates import duration, slack_date
from bot.slack.text import escape, link
from bot.slack.train_blocks import cause_words

Blocks = list[dict[str, Any]]

STEP_ICON: dict[str, str] = {
    PipelineState.STARTED: ":arrows_counterclockwise:",
    PipelineState.RESUMED: ":arrows_counterclockwise:",
    PipelineState.STOPPING: ":arrows_counterclockwise:",
    PipelineState.SUCCEEDED: ":white_check_mark:",
    PipelineState.FAILED: ":x:",
    PipelineState.CANCELED: ":heavy_minus_sign:",
    PipelineState.ABANDONED: ":heavy_minus_sign:",
    PipelineState.STOPPED: ":octagonal_sign:",
}


def execution_url(pipeline: str, execution_id: str, region: str, links: Links = CONSOLE) -> str:
    return links.execution(pipeline=pipeline, execution_id=execution_id, region=region)


def stage_line(
    name: str, step: StepState | None, approval: ApprovalState | None = None, *, bake_ended: bool = False
) -> str:
    """One stage: not yet, running since when, or how it ended and how long it took; an approval's stage
    says what its approval record says (waiting, approved or rejected by whom). Once the bake ended, a stage
    that never reported its end did not finish: it is not "running" any more."""
    if step is None:
        if approval is None:
            return f":white_small_square: {name}"
        # The approval's notification came before its stage's event: the approval record says enough.
        icon, said = approval_step_words(approval)
        return f"{icon} *{name}* {said}"
    if bake_ended and not step.ended and (approval is None or approval.open):
        return f":heavy_minus_sign: *{name}* did not finish"
    if approval is not None:
        icon, said = approval_step_words(approval)
        took = duration(step.started, step.ended) if step.ended else ""
        return f"{icon} *{name}* {said}" + (f" in {took}" if took else "")
    icon = STEP_ICON.get(step.state, ":grey_question:")
    if step.ended:
        took = duration(step.started, step.ended)
        return f"{icon} *{name}* {step.state.lower()}" + (f" in {took}" if took else "")
    since = f" since {slack_date(step.started)}" if step.started else ""
    return f"{icon} *{name}* running{since}"


def bake_message(
    bake: Bake,
    *,
    region: str,
    targets: tuple[tuple[str, str], ...] = (),
    rollouts: tuple[Rollout, ...] = (),
    runs: Mapping[str, TargetRuns] | None = None,
    own_account: str = "",
    links: Links = CONSOLE,
) -> tuple[str, Blocks]:
    """The one top-level message of a bake, as it stands now.

    `targets` are (target name, rollout_start button key) pairs offered once the bake's AMIs are released;
    `rollouts` are this bake's rollouts, so a target it already runs on is said instead of offered, and `runs`
    what those targets run now (a later rollout may have replaced this bake's AMI there). The
    approval card itself lives in the bake's thread (`bake_replies`); the message says its state in one line.
    """
    icon, label = header_words(bake)
    title = f"{icon} Bake `{bake.request_id}` of *{bake.image}*: {label}"
    who = f"<@{bake.requested_by}>" if bake.requested_by else escape(bake.author or "someone")
    how = "pushed a commit" if bake.origin == "push" else "requested"
    context = f"{who} {how} {slack_date(bake.requested_at)}"
    if bake.cause is not None:  # an automatic bake: the bakery asked, because of this (CONTRACT §12)
        context = f"The bakery baked it {slack_date(bake.requested_at)}: {cause_words(bake.cause)}"
    if bake.train_id:
        context += f" · train `{bake.train_id}`"
    if bake.reason and bake.cause is None:  # an automatic bake's reason is its cause, said above
        context += f" · {escape(bake.reason)}"
    blocks: Blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": title}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context[:3000]}]},
    ]
    fields = []
    if bake.commit_id:
        short = bake.commit_id[:8]
        fields.append(f"*Commit*\n{link(bake.commit_url, f'`{short}`')}" if bake.commit_url else f"*Commit*\n`{short}`")
    if bake.execution_id:
        url = execution_url(bake.pipeline, bake.execution_id, region, links)
        short = bake.execution_id[:8]
        fields.append(f"*Execution*\n{link(url, f'`{short}`')}" if url else f"*Execution*\n`{short}`")
    if bake.variables:
        shown = ", ".join(f"`{k}={v}`" for k, v in sorted(bake.variables.items()))
        fields.append(f"*Variables*\n{shown}"[:2000])
    if bake.source_ami:
        fields.append(f"*Source AMI*\n`{bake.source_ami}`")
    if fields:
        blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields[:10]]})
    if bake.execution_id or bake.stages:
        names = list(STAGES) + [s for s in bake.stages if s not in STAGES]
        approvals = {a.request.stage: a for a in current_approvals(bake)}
        lines = [
            stage_line(name, bake.stages.get(name), approvals.get(name), bake_ended=bake.terminal) for name in names
        ]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}})
    is_released = released(bake)
    if bake.amis:
        amis = "\n".join(ami_place(a, own_account) for a in bake.amis)
        said = "released" if is_released else ("not released yet" if not bake.terminal else "not released")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*AMIs* {said}\n{amis}"[:3000]}})
    if is_released and bake.amis and targets:
        blocks.extend(rollout_blocks(targets, rollouts, runs or {}))
    if bake.error:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f":warning: {escape(bake.error)}"[:3000]}]}
        )
    text = f"Bake {bake.request_id} of {bake.image}: {label}"
    if bake.amis:
        text += " — " + amis_words(bake.amis, own_account, code=False) + ("" if is_released else " (not released)")
    return text, blocks


def bake_replies(bake: Bake, *, approvers: str = "") -> list[tuple[str, str, Blocks]]:
    """The live thread replies of a bake (edited in place as they change): one per approval."""
    out = []
    for a in bake.approvals:
        card = approval_card(bake, a, approvers=approvers or "the approvers")
        text = f"Approval of bake {bake.request_id} at {a.request.stage}/{a.request.action}: {a.status}"
        out.append((f"approval:{a.key}", text, card))
    return out


def bake_summary_line(bake: Bake, own_account: str = "") -> str:
    """One line per bake, for `/bake status` lists; own_account: the bakery's, whose AMIs need no account."""
    icon, label = header_words(bake)
    current = next((n for n in reversed(STAGES) if n in bake.stages), "")
    where = f" at *{current}*" if current and not bake.terminal else ""
    amis = (" — " + amis_words(bake.amis, own_account)) if bake.amis else ""
    return f"{icon} `{bake.request_id}` *{bake.image}* {label}{where}{amis} ({slack_date(bake.requested_at)})"


def ephemeral(text: str) -> Blocks:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]
