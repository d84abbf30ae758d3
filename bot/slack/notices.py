"""Thread replies in words: one function from a notice (a kind and its fields) to mrkdwn, a table by kind."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.domain.models import Notice, NoticeKind, PipelineState
from bot.rollouts.record import RolloutStatus
from bot.slack.rollout_blocks import STATUS_LABEL as ROLLOUT_LABEL
from bot.slack.text import escape, link

Fields = Mapping[str, Any]

# Why an execution ended early, for the people who did not end it.
ENDED_MEANING: dict[str, str] = {
    PipelineState.SUPERSEDED: "a newer execution took its place before it finished",
    PipelineState.CANCELED: "the execution was canceled",
    PipelineState.STOPPED: "someone stopped the execution",
}


def notice_text(notice: Notice) -> str:
    """The mrkdwn of one thread reply."""
    return _TEXT[notice.kind](notice.fields)


def _as_stored(f: Fields) -> str:
    # Written as text by an earlier version, and escaped then: shown as it is.
    return str(f.get("text", ""))


def _step_detail(f: Fields) -> str:
    detail = ""
    if f.get("summary"):
        detail += f"\n> {escape(f['summary'])[:500]}"
    if f.get("log_url"):
        detail += f"\n{link(str(f['log_url']), 'Build log')}"
    return detail


def _action_failed(f: Fields) -> str:
    return f":x: Stage *{f['stage']}* failed in action *{f['action']}*." + _step_detail(f)


def _approval_rejected(f: Fields) -> str:
    return f":no_entry: Rejected at *{f['stage']}* (action *{f['action']}*)." + _step_detail(f)


def _execution_ended(f: Fields) -> str:
    state = str(f["state"])
    meaning = ENDED_MEANING.get(state, state.lower())
    return f":heavy_minus_sign: Execution `{str(f['execution_id'])[:8]}` ended *{state}*: {meaning}."


def _result_failed(f: Fields) -> str:
    text = f":x: The build reported the bake *{escape(f['status'])}*."
    if f.get("log_url"):
        text += f"\n{link(str(f['log_url']), 'Build log')}"
    return text


def _commit_failed(f: Fields) -> str:
    return f":x: Could not commit the bake request: {escape(f['reason'])}"


def _role_refused(f: Fields) -> str:
    return f":no_entry: {escape(f['reason'])}"


def _interrupted(f: Fields) -> str:
    return (
        ":warning: The bot restarted before this bake's commit was confirmed. If a pipeline "
        "run appears it will still be followed here; otherwise run `/bake` again."
    )


def _no_amis(f: Fields) -> str:
    return (
        ":warning: The pipeline succeeded but no AMI tagged with this "
        "request was found and the build sent no bake result."
    )


def _rollout_ended(f: Fields) -> str:
    status, target = f["status"], f["target"]
    icon, label = ROLLOUT_LABEL.get(status, (":grey_question:", status))
    text = f"{icon} Rollout `{f['rollout_id']}` of *{target}* onto `{f['ami_id']}` {label}."
    if status == RolloutStatus.SUCCEEDED and f.get("version"):
        text += f" Launch template version {f['version']} is now the default."
    if f.get("detail"):
        text += f"\n> {escape(f['detail'])[:500]}"
    return text + f"\n`{target}` is free for the next rollout."


def _stop_failed(f: Fields) -> str:
    verb = "roll back" if f.get("rollback") else "cancel"
    return f":warning: Could not {verb} rollout `{f['rollout_id']}`: {escape(f['error'])}"


def _default_version_failed(f: Fields) -> str:
    return (
        f":warning: The refresh succeeded but version {f['version']} could not be made the launch "
        f"template's default: {escape(f['error'])}"
    )


def _distribution_failed(f: Fields) -> str:
    what = [
        f"copy to {f['regions']}" if f.get("regions") else "",
        f"share with {f['accounts']}" if f.get("accounts") else "",
    ]
    doing = " and ".join(w for w in what if w) or "distribute this release"
    if f.get("final"):
        return (
            f":x: Could not {doing}: {escape(f['error'])}\n"
            "Nothing that follows this release (children, rollouts) starts."
        )
    minutes = max(1, round(int(f.get("retry_seconds") or 0) / 60))
    return f":warning: Could not {doing} yet; trying again in {minutes} min: {escape(f['error'])}"


_TEXT: dict[NoticeKind, Callable[[Fields], str]] = {
    NoticeKind.TEXT: _as_stored,
    NoticeKind.ACTION_FAILED: _action_failed,
    NoticeKind.APPROVAL_REJECTED: _approval_rejected,
    NoticeKind.EXECUTION_ENDED: _execution_ended,
    NoticeKind.RESULT_FAILED: _result_failed,
    NoticeKind.COMMIT_FAILED: _commit_failed,
    NoticeKind.ROLE_REFUSED: _role_refused,
    NoticeKind.INTERRUPTED: _interrupted,
    NoticeKind.NO_AMIS: _no_amis,
    NoticeKind.ROLLOUT_ENDED: _rollout_ended,
    NoticeKind.STOP_FAILED: _stop_failed,
    NoticeKind.DEFAULT_VERSION_FAILED: _default_version_failed,
    NoticeKind.DISTRIBUTION_FAILED: _distribution_failed,
}
