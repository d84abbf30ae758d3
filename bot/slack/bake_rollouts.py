"""A released bake's targets in its message: a "Roll out to" button, or what its rollout there became."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.rollouts.record import Rollout, RolloutStatus, TargetRuns
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


def replaced(r: Rollout, runs: Mapping[str, TargetRuns]) -> TargetRuns | None:
    """What replaced a succeeded rollout's AMI on its target since, if anything did."""
    now = runs.get(r.target)
    return now if r.status == RolloutStatus.SUCCEEDED and now is not None and now.replaced(r) else None


def target_line(r: Rollout, runs: Mapping[str, TargetRuns]) -> str:
    """Where this bake's latest rollout onto one target stands, in one line."""
    if (later := replaced(r, runs)) is not None:
        return (
            f":heavy_minus_sign: *{r.target}* ran this AMI from {slack_date(r.finished_at)} until "
            f"{slack_date(later.since)}: it runs `{later.ami_id}` now (rollout `{later.rollout_id}`)"
        )
    if r.status == RolloutStatus.SUCCEEDED:
        since = f" since {slack_date(r.finished_at)}" if r.finished_at else ""
        return f":white_check_mark: *{r.target}* runs this AMI{since} (rollout `{r.rollout_id}`)"
    icon, label = ROLLOUT_LABEL.get(r.status, (":grey_question:", str(r.status)))
    progress = f" ({r.percentage}%)" if r.refresh_id and not r.terminal else ""
    when = f" {slack_date(r.finished_at)}" if r.terminal and r.finished_at else ""
    # A rollout begun before its bake had a message (the sandbox's seeded release) was posted in the channel.
    where = "" if r.terminal or not r.thread_ts else " — see the thread"
    return f"{icon} Rollout `{r.rollout_id}` to *{r.target}* {label}{progress}{when}{where}"


def rollout_blocks(
    targets: tuple[tuple[str, str], ...], rollouts: tuple[Rollout, ...], runs: Mapping[str, TargetRuns]
) -> Blocks:
    """One line per target this bake was rolled out to, and a button per target it may be rolled out to now:
    never rolled out there, its rollout there ended without its AMI in place, or another AMI replaced it."""
    latest = latest_per_target(rollouts)
    names = {name for name, _ in targets}
    lines = [target_line(latest[name], runs) for name, _ in targets if name in latest]
    lines += [target_line(r, runs) for name, r in sorted(latest.items()) if name not in names]

    def may_roll_out(name: str) -> bool:
        r = latest.get(name)
        return r is None or r.status in RETRY_AFTER or replaced(r, runs) is not None

    offered = [(name, key) for name, key in targets if may_roll_out(name)]
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
