"""What a bake record says in words: its state (header word and icon), its Approve line, whether it is released.

Pure over the record. The state is derived from what the record knows, not guessed: "waiting for approval" needs
an open approval record, "rejected" a rejection of the approval action, and "released" a succeeded Publish.
README's table "record state → header word and icon" lists these states; a test keeps the two in sync.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.approvals.record import ApprovalState, ApprovalStatus
from bot.bakes.record import Bake, BakeStatus
from bot.domain.models import STAGES, PipelineState, Verdict
from bot.slack.text import escape

PUBLISH = "Publish"

# Record state -> (icon, header word). Each state reads without its icon (the word says it all).
BAKE_STATES: dict[str, tuple[str, str]] = {
    "requested": (":inbox_tray:", "requested"),
    "committed": (":outbox_tray:", "committed, waiting for the pipeline"),
    "running": (":hourglass_flowing_sand:", "running"),
    "waiting for approval": (":raised_hand:", "waiting for approval"),
    "deciding": (":hourglass_flowing_sand:", "decided, telling CodePipeline"),
    "succeeded": (":white_check_mark:", "succeeded"),
    "failed": (":x:", "failed"),
    "rejected": (":no_entry:", "rejected"),
    "approval expired": (":hourglass:", "approval expired"),
    "superseded": (":fast_forward:", "superseded"),
    "canceled": (":heavy_minus_sign:", "canceled"),
    "stopped": (":octagonal_sign:", "stopped"),
    "error": (":warning:", "could not start"),
}


@dataclass(frozen=True)
class Rejection:
    """Who rejected a bake's approval (a Slack user id, or "" when it was done outside Slack) and why."""

    stage: str
    user: str
    reason: str
    at: str = ""

    def words(self) -> str:
        who = f"by <@{self.user}>" if self.user else "outside Slack"
        return f"rejected {who}" + (f": {escape(self.reason)}" if self.reason else "")


def current_approvals(bake: Bake) -> tuple[ApprovalState, ...]:
    """The approvals of the execution the bake follows now (a re-run keeps the old ones on the record)."""
    return tuple(a for a in bake.approvals if not a.execution_id or a.execution_id == bake.execution_id)


def open_approval(bake: Bake) -> ApprovalState | None:
    return next((a for a in current_approvals(bake) if a.open), None)


def rejection(bake: Bake) -> Rejection | None:
    """The rejection that failed this bake: a decision made here, or one the console made (the action failed)."""
    for a in current_approvals(bake):
        asked = a.request
        if a.status == ApprovalStatus.REJECTED:
            return Rejection(asked.stage, a.decided_by, a.reason, a.decided_at)
        step = bake.actions.get(f"{asked.stage}/{asked.action}")
        if a.status == ApprovalStatus.DECIDED_ELSEWHERE and step and step.state == PipelineState.FAILED:
            return Rejection(asked.stage, "", step.summary, step.ended)
    known = {(a.request.stage, a.request.action) for a in bake.approvals}
    for key, step in bake.actions.items():
        stage, _, action = key.partition("/")
        if step.category == "Approval" and step.state == PipelineState.FAILED and (stage, action) not in known:
            return Rejection(stage, "", step.summary, step.ended)  # an approval the bot never saw, rejected
    return None


def expired(bake: Bake) -> bool:
    return any(a.status == ApprovalStatus.EXPIRED for a in current_approvals(bake))


def released(bake: Bake) -> bool:
    """Publish succeeded (it tags the AMI released); a succeeded execution ran every stage, Publish included."""
    return bake.released


def state_of(bake: Bake) -> str:
    """The record's state, a key of BAKE_STATES."""
    if bake.status == BakeStatus.RUNNING:
        waiting = open_approval(bake)
        if waiting is not None:
            return "deciding" if waiting.status == ApprovalStatus.DECIDING else "waiting for approval"
        # CodePipeline took a rejection: the execution fails next, but the bake was rejected, not running on.
        return "rejected" if rejection(bake) is not None else "running"
    if bake.status == BakeStatus.FAILED:
        if rejection(bake) is not None:
            return "rejected"
        return "approval expired" if expired(bake) else "failed"
    return str(bake.status.value)


def failed_stage(bake: Bake) -> str:
    """The first stage that really failed, "" when none did."""
    failed = (n for n in (*STAGES, *bake.stages) if (s := bake.stages.get(n)) and s.state == PipelineState.FAILED)
    return next(failed, "")


def header_words(bake: Bake) -> tuple[str, str]:
    """(icon, words) of the bake's header: the state's word, with who and why when the record knows them."""
    state = state_of(bake)
    icon, word = BAKE_STATES.get(state, (":grey_question:", str(bake.status)))
    if state == "rejected":
        found = rejection(bake)
        return icon, found.words() if found else word
    if state == "failed" and (stage := failed_stage(bake)):
        return icon, f"{word} at {stage}"
    return icon, word


def approval_step_words(a: ApprovalState) -> tuple[str, str]:
    """(icon, words) of the stage line of an approval's stage, once the bot holds its approval record."""
    who = f"<@{a.decided_by}>" if a.decided_by else "someone"
    if a.status == ApprovalStatus.PENDING:
        return ":raised_hand:", "waiting for approval — see the thread"
    if a.status == ApprovalStatus.DECIDING:
        verb = "approved" if a.verdict == Verdict.APPROVE else "rejected"
        return ":hourglass_flowing_sand:", f"{verb} by {who}, telling CodePipeline…"
    if a.status == ApprovalStatus.APPROVED:
        return ":white_check_mark:", f"approved by {who}"
    if a.status == ApprovalStatus.REJECTED:
        return ":no_entry:", "rejected"  # by whom and why: the header says it, once
    if a.status == ApprovalStatus.EXPIRED:
        return ":hourglass:", "expired without a decision"
    if a.status == ApprovalStatus.DECIDED_ELSEWHERE:
        # progress.py writes the note as "<approved | rejected | state> outside Slack (console or API)".
        how = a.note.split(" (", 1)[0] or "decided outside Slack"
        verb = how.split(" ", 1)[0]
        if verb == "rejected":
            return ":no_entry:", "rejected"  # outside Slack, and why: the header says it, once
        return (":white_check_mark:" if verb == "approved" else ":heavy_minus_sign:"), escape(how)
    return ":heavy_minus_sign:", f"closed: {escape(a.note or a.status)}"
