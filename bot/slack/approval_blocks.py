"""Block Kit for manual approvals: the card with Approve / Reject, its closed form, and the reject modal."""

from __future__ import annotations

from typing import Any

from bot.approvals.record import ApprovalState, ApprovalStatus
from bot.bakes.record import Bake
from bot.domain.models import Verdict
from bot.slack import ids
from bot.slack.dates import expiry_text, slack_date
from bot.slack.text import escape, link

Blocks = list[dict[str, Any]]


def approval_card(bake: Bake, a: ApprovalState, *, approvers: str) -> Blocks:
    """The approval card, a reply in the bake's thread (its one place): open with buttons, then its outcome."""
    asked = a.request
    where = f"*{escape(asked.stage)}* / *{escape(asked.action)}*"
    if not a.open or a.status == ApprovalStatus.DECIDING:
        step = bake.actions.get(f"{asked.stage}/{asked.action}")
        said = outcome_line(a, where, step.summary if step else "")
        return [{"type": "section", "text": {"type": "mrkdwn", "text": said}}]
    not_who = f"<@{bake.requested_by}> (who asked)" if bake.requested_by else ""
    if bake.origin == "push" and bake.author:
        not_who = ", ".join(filter(None, [not_who, f"{escape(bake.author)} (the commit's author)"]))
    lines = [
        f":raised_hand: *Waiting for approval* at {where} of bake `{bake.request_id}`",
        f"Who may approve: {approvers}" + (f", except {not_who}" if not_who else ""),
        f"Expires: {expiry_text(asked.expires)}",
    ]
    blocks: Blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}}]
    if asked.custom_data:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"> {escape(asked.custom_data)[:2900]}"}})
    # Not approvalReviewLink: it ends in the approval's token, which stays server-side.
    pairs = ((asked.external_link, "Details"), (asked.console_link, "Pipeline in the console"))
    links = [link(url, label) for url, label in pairs if url]
    if links:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(links)}]})
    blocks.append(
        {
            "type": "actions",
            "block_id": f"approval:{a.key}",
            "elements": [
                {
                    "type": "button",
                    "action_id": ids.BAKE_APPROVE,
                    "text": {"type": "plain_text", "text": "Approve"},
                    "style": "primary",
                    "value": a.key,
                },
                {
                    "type": "button",
                    "action_id": ids.BAKE_REJECT,
                    "text": {"type": "plain_text", "text": "Reject…"},
                    "style": "danger",
                    "value": a.key,
                },
            ],
        }
    )
    return blocks


def outcome_line(a: ApprovalState, where: str, summary: str = "") -> str:
    """What became of an approval, in one line: the card becomes this once it is decided or closed.

    `summary` is what the approval action ended with (a console decision's comment).
    """
    who = f"<@{a.decided_by}>" if a.decided_by else "someone"
    when = f" {slack_date(a.decided_at)}" if a.decided_at else ""
    if a.status == ApprovalStatus.DECIDING:
        verb = "Approving" if a.verdict == Verdict.APPROVE else "Rejecting"
        return f":hourglass_flowing_sand: {verb} {where}: {who} decided{when}, telling CodePipeline…"
    if a.status == ApprovalStatus.APPROVED:
        return f":white_check_mark: {where} approved by {who}{when}"
    if a.status == ApprovalStatus.REJECTED:
        return f":no_entry: {where} rejected by {who}{when}: {escape(a.reason)}"[:3000]
    if a.status == ApprovalStatus.EXPIRED:
        return f":hourglass: {where} expired ({expiry_text(a.request.expires)}) without a decision"
    comment = f": {escape(summary)}" if summary else ""
    if a.status == ApprovalStatus.DECIDED_ELSEWHERE:
        # progress.py writes the note as "<approved | rejected | state> outside Slack (console or API)".
        icons = {"rejected": ":no_entry:", "approved": ":white_check_mark:"}
        icon = icons.get(a.note.split(" ", 1)[0], ":heavy_minus_sign:")
        return f"{icon} {where} {escape(a.note)}{comment}"[:3000]
    return f":heavy_minus_sign: {where} closed: {escape(a.note or a.status)}"


def reject_modal(key: str, request_id: str) -> dict[str, Any]:
    """The modal asking why a bake is rejected; private_metadata carries only the approval's key."""
    return {
        "type": "modal",
        "callback_id": ids.REJECT_VIEW,
        "private_metadata": key,
        "title": {"type": "plain_text", "text": "Reject the bake"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"Why reject bake `{request_id}`? The reason goes to CodePipeline."},
            },
            {
                "type": "input",
                "block_id": ids.REJECT_REASON_BLOCK,
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.REJECT_REASON_INPUT,
                    "multiline": True,
                    "max_length": 400,
                },
            },
        ],
    }


def reject_refused_modal(key: str, sentence: str) -> dict[str, Any]:
    """The reject modal once the checks say this person may not decide: why, and no Reject button."""
    return {
        "type": "modal",
        "callback_id": ids.REJECT_VIEW,
        "private_metadata": key,
        "title": {"type": "plain_text", "text": "Reject the bake"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f":no_entry_sign: {sentence}"[:3000]}}],
    }
