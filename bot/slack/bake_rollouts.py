"""A released bake's targets in its message: a "Roll out to" button, or what its rollout there became."""

from __future__ import annotations

from typing import Any

from bot.rollouts.record import Rollout, RolloutStatus
from bot.slack import ids
from bot.slack.dates import slack_date
from bot.slack.rollout_blocks import STATUS_LABEL as ROLLOUT_LABEL

Blocks = list[dict[str, Any]]

# A rollout that ended without its AMI in place leaves the target free for another try: the button comes back.
RETRY_AFTER = frozenset(
    {
        RolloutStatus.FAILED,
        RolloutStatus.CANCELED,
        RolloutStatus.ROLLED_BACK,
        RolloutStatus.ROLLBACK_FAILED,
        RolloutStatus.ERROR,
    }
)


def latest_per_target(rollouts: tuple[Rollout, ...]) -> dict[str, Rollout]:
    latest: dict[str, Rollout] = {}
    for r in sorted(rollouts, key=lambda r: (r.requested_at, r.rollout_id)):
        latest[r.target] = r
    return latest


def target_line(r: Rollout) -> str:
    """Where this bake's latest rollout onto one target stands, in one line."""
    if r.status == RolloutStatus.SUCCEEDED:
        since = f" since {slack_date(r.finished_at)}" if r.finished_at else ""
        return f":white_check_mark: *{r.target}* runs this AMI{since} (rollout `{r.rollout_id}`)"
    icon, label = ROLLOUT_LABEL.get(r.status, (":grey_question:", str(r.status)))
    progress = f" ({r.percentage}%)" if r.refresh_id and not r.terminal else ""
    when = f" {slack_date(r.finished_at)}" if r.terminal and r.finished_at else ""
    where = "" if r.terminal else " — see the thread"
    return f"{icon} Rollout `{r.rollout_id}` to *{r.target}* {label}{progress}{when}{where}"


def rollout_blocks(targets: tuple[tuple[str, str], ...], rollouts: tuple[Rollout, ...]) -> Blocks:
    """One line per target this bake was rolled out to, and a button per target it may be rolled out to now."""
    latest = latest_per_target(rollouts)
    names = {name for name, _ in targets}
    lines = [target_line(latest[name]) for name, _ in targets if name in latest]
    lines += [target_line(r) for name, r in sorted(latest.items()) if name not in names]
    offered = [(name, key) for name, key in targets if name not in latest or latest[name].status in RETRY_AFTER]
    blocks: Blocks = []
    if lines:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}})
    if offered:
        blocks.append(
            {
                "type": "actions",
                "block_id": "rollouts",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ids.ROLLOUT_START,
                        "text": {"type": "plain_text", "text": f"Roll out to {name}"[:75]},
                        "value": key,
                    }
                    for name, key in offered[:25]
                ],
            }
        )
    return blocks
