"""Private replies in words: what the person who clicked or typed is told, one function per fact, a table by type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.domain.replies import (
    ChildRebaking,
    Decided,
    Deciding,
    DecisionLost,
    DecisionRefused,
    Failed,
    GcSwept,
    Refused,
    Reply,
    RolloutApproved,
    RolloutCanceled,
    RolloutCanceling,
    RolloutOpened,
    RolloutRollingBack,
    RolloutStands,
)
from bot.fleet.refusal import AmiRevoked
from bot.rollouts.errors import AmiOfAnotherImage, RolloutMovedOn
from bot.slack.dates import slack_date
from bot.slack.rollout_blocks import STATUS_LABEL as ROLLOUT_LABEL
from bot.slack.text import escape


def reply_text(reply: Reply) -> str:
    """The mrkdwn of one private reply."""
    return _TEXT[type(reply)](reply)


def refusal_text(error: Exception) -> str:
    """Why nothing happened, in one sentence. Most refusals are their error's message; those that carry facts
    (a status, outside input) are worded here, with Slack's labels and escaping."""
    if isinstance(error, RolloutMovedOn):
        _, label = ROLLOUT_LABEL.get(error.status, (None, error.status))
        by = f" (approved by <@{error.approved_by}>)" if error.approved_by else ""
        return f"Rollout `{error.rollout_id}` is no longer {error.wanted}: it is {label}{by}."
    if isinstance(error, AmiOfAnotherImage):
        what = f"an image of *{escape(error.tagged)}*" if error.tagged else f"not tagged `{error.tag}`"
        return (
            f"AMI `{error.ami_id}` is {what}; `{error.target}` runs *{error.image}*, so it only takes AMIs "
            f"tagged `{error.tag}={error.image}`."
        )
    if isinstance(error, AmiRevoked):
        r = error.revocation
        return (
            f"AMI `{r.ami_id}` was revoked by <@{r.by}> on {slack_date(r.at)}: {escape(r.reason)}. "
            f"It cannot be {error.what}."
        )
    return str(error)


def trouble_sentence(reply: Refused | Failed) -> str:
    """A refusal or failure as a plain sentence, without the icon (a modal's input error has no emoji)."""
    if isinstance(reply, Refused):
        return refusal_text(reply.error)
    return f"That did not work: {reply.error}"


def _refused(r: Refused) -> str:
    return f":no_entry_sign: {trouble_sentence(r)}"


def _failed(r: Failed) -> str:
    return f":warning: {trouble_sentence(r)}"


def _deciding(r: Deciding) -> str:
    return f":hourglass_flowing_sand: {'Approving' if r.approve else 'Rejecting'} `{r.request_id}`…"


def _decided(r: Decided) -> str:
    return f":white_check_mark: You {'approved' if r.approve else 'rejected'} `{r.request_id}`."


def _decision_refused(r: DecisionRefused) -> str:
    return f":warning: CodePipeline did not take your decision: {r.reason}"


def _decision_lost(r: DecisionLost) -> str:
    return f":warning: Your decision did not reach CodePipeline: {r.reason}"


def _rollout_opened(r: RolloutOpened) -> str:
    what = f":ship: Rollout `{r.rollout_id}` of `{r.target}` onto `{r.ami_id}`"
    if r.awaits_approval:
        return f"{what} waits for an approver other than you (the target needs approval)."
    return f"{what} is starting."


def _child_rebaking(r: ChildRebaking) -> str:
    if not r.request_id:
        return (
            f"Nothing opened: `{r.child}` already has a released bake with these inputs on `{r.ami_id}`, "
            "or a bake of it is in flight."
        )
    return f":repeat: Rebaking `{r.child}` on `{r.ami_id}`: bake `{r.request_id}` (train `{r.train_id}`)."


def _rollout_approved(r: RolloutApproved) -> str:
    return f":white_check_mark: You approved rollout `{r.rollout_id}`; it is starting."


def _rollout_canceled(r: RolloutCanceled) -> str:
    return f"Rollout `{r.rollout_id}` cancelled; `{r.target}` is free."


def _rollout_canceling(r: RolloutCanceling) -> str:
    return f"Cancelling rollout `{r.rollout_id}`: instances already replaced stay replaced."


def _rollout_rolling_back(r: RolloutRollingBack) -> str:
    return f"Rolling back rollout `{r.rollout_id}`: replaced instances go back to the previous version."


def _rollout_stands(r: RolloutStands) -> str:
    icon, label = ROLLOUT_LABEL.get(r.status, (":grey_question:", r.status))
    return f"{icon} Rollout `{r.rollout_id}` of `{r.target}` onto `{r.ami_id}`: {label} by now (see its message)."


def _gc_swept(r: GcSwept) -> str:
    icon = ":warning:" if r.failed else ":broom:"
    failed = f", {r.failed} refused by AWS (found again next time)" if r.failed else ""
    return (
        f"{icon} Sweep done: {r.removed} AMI{'s' if r.removed != 1 else ''} removed, {r.freed_gb} GB freed, "
        f"{r.in_use} kept in use{failed}. The report is in <#{r.channel}>."
    )


_TEXT: dict[type, Callable[[Any], str]] = {
    Refused: _refused,
    Failed: _failed,
    Deciding: _deciding,
    Decided: _decided,
    DecisionRefused: _decision_refused,
    DecisionLost: _decision_lost,
    RolloutOpened: _rollout_opened,
    RolloutApproved: _rollout_approved,
    RolloutCanceled: _rollout_canceled,
    RolloutCanceling: _rollout_canceling,
    RolloutRollingBack: _rollout_rolling_back,
    RolloutStands: _rollout_stands,
    ChildRebaking: _child_rebaking,
    GcSwept: _gc_swept,
}
