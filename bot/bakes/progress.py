"""Pure state transitions of a bake on pipeline messages: idempotent and tolerant of reordering.

Delivery is at least once and out of order, so each step keeps the event time of the state it holds and
only moves to a state that is newer; at the same time a terminal state beats a running one. Applying the
same event twice, or an older one after a newer one, returns the bake unchanged. What the thread must be
told is recorded as notice facts (a kind and its fields); `bot.slack.notices` words them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.approvals.record import ApprovalState, ApprovalStatus
from bot.bakes.record import Bake, BakeStatus, StepState
from bot.domain.models import BakeResult, Decision, NoticeKind, PipelineEvent, PipelineState, Verdict
from bot.domain.times import parse_time

_running = PipelineState.is_running
_terminal = PipelineState.is_terminal


def _rank(state: str) -> int:
    return 1 if _terminal(state) else 0


def _step(current: StepState | None, ev: PipelineEvent) -> StepState | None:
    """The new state of one step, or None when the event changes nothing."""
    if current is None:
        return StepState(
            state=ev.state,
            updated=ev.time,
            started=ev.time if _running(ev.state) else "",
            ended=ev.time if _terminal(ev.state) else "",
            external_url=ev.external_url,
            summary=ev.summary,
            category=ev.category,
        )
    at = parse_time(ev.time)
    newer = (at, _rank(ev.state)) > (parse_time(current.updated), _rank(current.state))
    if newer and ev.state != current.state:
        started = current.started
        if _running(ev.state) and (not started or _terminal(current.state)):
            started = ev.time  # a retry (RESUMED after FAILED) starts the clock again
        return StepState(
            state=ev.state,
            updated=ev.time,
            started=started,
            ended=ev.time if _terminal(ev.state) else "",
            external_url=ev.external_url or current.external_url,
            summary=ev.summary or current.summary,
            category=ev.category or current.category,
        )
    # An older or equal event may still tell us when the step started, or where its log is.
    patch = {}
    if (
        _running(ev.state)
        and (not current.started or at < parse_time(current.started))
        and at <= parse_time(current.updated)
    ):
        patch["started"] = ev.time
    if ev.external_url and not current.external_url:
        patch["external_url"] = ev.external_url
    if ev.summary and not current.summary:
        patch["summary"] = ev.summary
    return replace(current, **patch) if patch else None


def advance(bake: Bake, ev: PipelineEvent) -> Bake | None:
    """The bake after one pipeline event, or None when the event changes nothing."""
    if bake.execution_id and ev.execution_id != bake.execution_id:
        if not (bake.terminal and ev.level == "pipeline" and ev.state == PipelineState.STARTED):
            return None  # an event of an execution this bake no longer follows
        # The same commit released again after the bake ended: follow the new execution from scratch.
        bake = replace(bake, execution_id="", execution_state=None, stages={}, actions={}, finished_at="")
    changes: dict[str, Any] = {}
    if not bake.execution_id:
        changes["execution_id"] = ev.execution_id

    if ev.level == "pipeline":
        new = _step(bake.execution_state, ev)
        if new is not None:
            changes["execution_state"] = new
            if new.state != (bake.execution_state.state if bake.execution_state else None):
                changes["status"] = BakeStatus.of_execution(new.state)
                changes["finished_at"] = new.ended
    elif ev.level == "stage":
        new = _step(bake.stages.get(ev.stage), ev)
        if new is not None:
            changes["stages"] = {**bake.stages, ev.stage: new}
    else:
        key = f"{ev.stage}/{ev.action}"
        new = _step(bake.actions.get(key), ev)
        if new is not None:
            changes["actions"] = {**bake.actions, key: new}

    if not changes:
        return None
    # Any sign of life from the pipeline means the bake is running, unless the execution already ended.
    if "status" not in changes and bake.status in (BakeStatus.REQUESTED, BakeStatus.COMMITTED, BakeStatus.ERROR):
        changes["status"] = BakeStatus.RUNNING
    out = replace(bake, **changes)
    # A rejected approval the bot holds is told once in the thread by its own card, which becomes the outcome.
    carded = any((a.request.stage, a.request.action) == (ev.stage, ev.action) for a in bake.approvals)
    if ev.level == "action" and ev.state == PipelineState.FAILED and "actions" in changes and not carded:
        kind = NoticeKind.APPROVAL_REJECTED if ev.category == "Approval" else NoticeKind.ACTION_FAILED
        out = out.with_notice(
            f"failed:{ev.execution_id}:{ev.stage}/{ev.action}",
            kind,
            stage=ev.stage,
            action=ev.action,
            summary=ev.summary,
            log_url=ev.external_url,
        )
    ended_early = (BakeStatus.SUPERSEDED, BakeStatus.CANCELED, BakeStatus.STOPPED)
    if ev.level == "pipeline" and out.status != bake.status and out.status in ended_early:
        out = out.with_notice(
            f"ended:{ev.execution_id}:{ev.state}",
            NoticeKind.EXECUTION_ENDED,
            execution_id=ev.execution_id,
            state=ev.state,
        )
    return out


def close_approvals(bake: Bake, ev: PipelineEvent) -> Bake:
    """Close the open approvals an event settles: their action ended, or their execution did.

    A decision this bot claimed is confirmed by its action's end; any other end means the approval was
    answered elsewhere (the console), expired, or the execution moved on. Idempotent: only open ones change.
    """
    out = bake
    for a in bake.approvals:
        if not a.open or (a.execution_id and a.execution_id != ev.execution_id):
            continue
        new: ApprovalState | None = None
        at = (a.request.stage, a.request.action)
        if ev.level == "action" and (ev.stage, ev.action) == at and _terminal(ev.state):
            new = _approval_ended(a, ev)
        elif ev.level == "pipeline" and _terminal(ev.state):
            new = replace(
                a, status=ApprovalStatus.SUPERSEDED, note=f"the execution ended ({ev.state.lower()}) before a decision"
            )
        if new is not None:
            out = out.with_approval(new)
            decided = (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED)
            if new.status in decided and a.status == ApprovalStatus.DECIDING and a.verdict is not None:
                out = with_decision(
                    out,
                    Decision(
                        subject=f"{a.request.stage}/{a.request.action}",
                        user=a.decided_by,
                        verdict=a.verdict,
                        at=a.decided_at,
                        outcome=new.status,
                        reason=a.reason,
                    ),
                )
    return out


def _approval_ended(a: ApprovalState, ev: PipelineEvent) -> ApprovalState:
    succeeded = ev.state == PipelineState.SUCCEEDED
    if a.status == ApprovalStatus.DECIDING and (a.verdict == Verdict.APPROVE) == succeeded:
        return replace(a, status=ApprovalStatus.APPROVED if succeeded else ApprovalStatus.REJECTED)
    if not succeeded and _expired_by(a, ev):
        return replace(a, status=ApprovalStatus.EXPIRED, note="no decision before it expired")
    how = "approved" if succeeded else ("rejected" if ev.state == PipelineState.FAILED else ev.state.lower())
    return replace(
        a,
        status=ApprovalStatus.DECIDED_ELSEWHERE,
        note=f"{how} outside Slack (console or API)",
        verdict=None,
        claim="",
    )


def _expired_by(a: ApprovalState, ev: PipelineEvent) -> bool:
    """The action failed at or after the approval's deadline: CodePipeline expired it."""
    if not a.request.expires:
        return False
    try:
        deadline = parse_time(a.request.expires)
    except ValueError:
        return False  # an expiry we cannot read does not turn a console rejection into an expiry
    return parse_time(ev.time) >= deadline


def with_decision(bake: Bake, decision: Decision) -> Bake:
    """The bake with one more recorded decision; the same decision twice is recorded once."""
    if decision in bake.decisions:
        return bake
    return replace(bake, decisions=(*bake.decisions, decision))


def apply_result(bake: Bake, result: BakeResult) -> Bake | None:
    """Record the build's bake result: the AMIs and the log link. Repeats change nothing."""
    changes: dict[str, Any] = {}
    if result.amis and not set(result.amis) <= set(bake.amis):  # a repeat keeps the copies a distribution added
        changes["amis"] = tuple(result.amis)
    if result.log_url and result.log_url != bake.log_url:
        changes["log_url"] = result.log_url
    if result.commit_id and not bake.commit_id:
        changes["commit_id"] = result.commit_id
    if not bake.execution_id and result.execution_id:
        changes["execution_id"] = result.execution_id
    out = replace(bake, **changes) if changes else bake
    if result.status != BakeStatus.SUCCEEDED:
        out = out.with_notice(
            f"result:{result.execution_id}:{result.status}",
            NoticeKind.RESULT_FAILED,
            status=result.status,
            log_url=result.log_url,
        )
    return None if out == bake else out
