"""Block Kit for a rollout's message: status, progress, launch template version, and its buttons."""

from __future__ import annotations

from typing import Any

from bot.rollouts.record import Rollout, RolloutStatus
from bot.slack import ids
from bot.slack.dates import slack_date
from bot.slack.text import escape

Blocks = list[dict[str, Any]]

# Keyed by the status enum, which equals its stored string: a string looks a label up as well.
STATUS_LABEL: dict[str, tuple[str, str]] = {
    RolloutStatus.AWAITING_APPROVAL: (":raised_hand:", "waiting for approval"),
    RolloutStatus.STARTING: (":arrows_counterclockwise:", "starting"),
    RolloutStatus.IN_PROGRESS: (":ship:", "in progress"),
    RolloutStatus.CANCELING: (":heavy_minus_sign:", "cancelling"),
    RolloutStatus.ROLLING_BACK: (":rewind:", "rolling back"),
    RolloutStatus.SUCCEEDED: (":white_check_mark:", "succeeded"),
    RolloutStatus.FAILED: (":x:", "failed"),
    RolloutStatus.CANCELED: (":heavy_minus_sign:", "cancelled"),
    RolloutStatus.ROLLED_BACK: (":rewind:", "rolled back"),
    RolloutStatus.ROLLBACK_FAILED: (":rotating_light:", "rollback failed"),
    RolloutStatus.ERROR: (":warning:", "could not start"),
}


def progress_bar(percentage: int, width: int = 20) -> str:
    """Plain text, not inline code: Slack paints inline code red, and a full bar must not look like an error."""
    filled = max(0, min(width, round(percentage * width / 100)))
    return "▰" * filled + "▱" * (width - filled)


def _button(
    action_id: str, text: str, value: str, style: str | None = None, confirm: str | None = None
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = {
            "title": {"type": "plain_text", "text": "Are you sure?"},
            "text": {"type": "mrkdwn", "text": confirm},
            "confirm": {"type": "plain_text", "text": text},
            "deny": {"type": "plain_text", "text": "Keep going"},
        }
    return button


def rollout_message(rollout: Rollout, *, approvers: str = "") -> tuple[str, Blocks]:
    r = rollout
    icon, label = STATUS_LABEL.get(r.status, (":grey_question:", r.status))
    title = f"{icon} Rollout `{r.rollout_id}` of *{r.target}* onto `{r.ami_id}`: {label}"
    context = (
        f"<@{r.requested_by}> asked {slack_date(r.requested_at)} · image *{r.image}* · group `{r.auto_scaling_group}`"
    )
    if r.approved_by:
        context += f" · approved by <@{r.approved_by}>"
    blocks: Blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": title}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context[:3000]}]},
    ]
    if r.status == RolloutStatus.AWAITING_APPROVAL:
        who = f"{approvers or 'the approvers'}, except <@{r.requested_by}> (who asked)"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"Who may approve: {who}"}})
    lines = []
    if r.version:
        lines.append(
            f"Launch template `{r.template_name or r.template_id}` version {r.version} (was {r.previous_version})"
        )
    if r.refresh_id:
        left = f" · {r.instances_to_update} instance{'s' if r.instances_to_update != 1 else ''} left"
        lines.append(f"{progress_bar(r.percentage)} {r.percentage}%{left} · refresh `{r.refresh_id[:8]}`")
    if r.status_reason:
        lines.append(f"> {escape(r.status_reason)[:500]}")
    if r.error:
        lines.append(f":warning: {escape(r.error)[:500]}")
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}})
    rollback = _button(
        ids.ROLLOUT_ROLLBACK,
        "Roll back",
        r.rollout_id,
        "danger",
        confirm="Put the previous launch template version back on every replaced instance?",
    )
    buttons = []
    if r.status == RolloutStatus.AWAITING_APPROVAL:
        buttons = [
            _button(ids.ROLLOUT_APPROVE, "Approve", r.rollout_id, "primary"),
            _button(ids.ROLLOUT_CANCEL, "Cancel", r.rollout_id),
        ]
    elif r.status == RolloutStatus.IN_PROGRESS:
        cancel = _button(
            ids.ROLLOUT_CANCEL, "Cancel", r.rollout_id, confirm="Stop replacing instances? Replaced ones stay."
        )
        buttons = [cancel, rollback]
    elif r.status == RolloutStatus.CANCELING:
        buttons = [rollback]
    if buttons:
        blocks.append({"type": "actions", "block_id": f"rollout:{r.rollout_id}", "elements": buttons})
    text = f"Rollout {r.rollout_id} of {r.target} onto {r.ami_id}: {label}"
    if r.refresh_id and not r.terminal:
        text += f" ({r.percentage}%)"
    return text, blocks


def rollout_summary_line(r: Rollout) -> str:
    """One line per rollout, for `/bake status`."""
    icon, label = STATUS_LABEL.get(r.status, (":grey_question:", r.status))
    progress = f" ({r.percentage}%)" if r.refresh_id and not r.terminal else ""
    return (
        f"{icon} `{r.rollout_id}` *{r.target}* onto `{r.ami_id}`: {label}{progress}, "
        f"asked by <@{r.requested_by}> {slack_date(r.requested_at)}"
    )
