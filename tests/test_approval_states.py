"""The pure side of approvals: which events close an approval, and how; repeats change nothing."""

from __future__ import annotations

from dataclasses import replace

from bot.approvals.record import ApprovalState
from bot.approvals.service import approval_key, closed_text
from bot.bakes.progress import close_approvals
from bot.bakes.record import Bake
from bot.domain.models import ApprovalRequest, PipelineEvent

EX = "11111111-2222-3333-4444-555555555555"
REQUEST = ApprovalRequest(
    region="eu-west-1",
    console_link="https://console.aws.amazon.com/codesuite/codepipeline/pipelines/ami-bakery-base/view",
    pipeline="ami-bakery-base",
    stage="Approve",
    action="Release",
    token="t",
    expires="2026-12-03T09:00Z",
)


def bake_with(state: ApprovalState) -> Bake:
    return Bake(
        request_id="b-abcdefg",
        image="base",
        requested_by="U0CAROL",
        requested_at="2026-11-26T09:00:00Z",
        reason="",
        channel="C0BAKERY",
        pipeline="ami-bakery-base",
        approvals=(state,),
    )


def pending(**kw) -> ApprovalState:
    return ApprovalState(key="ap-abc", request=REQUEST, execution_id=EX, **kw)


def action_event(state: str, time: str = "2026-11-26T10:00:00Z", execution_id: str = EX) -> PipelineEvent:
    return PipelineEvent(
        level="action",
        pipeline="ami-bakery-base",
        execution_id=execution_id,
        state=state,
        time=time,
        stage="Approve",
        action="Release",
        category="Approval",
    )


def test_a_console_approval_closes_a_pending_approval_as_decided_elsewhere():
    after = close_approvals(bake_with(pending()), action_event("SUCCEEDED"))
    assert after.approvals[0].status == "decided-elsewhere" and "approved outside Slack" in after.approvals[0].note


def test_our_claimed_decision_is_confirmed_by_the_action_end_and_recorded_once():
    claimed = pending(status="deciding", decided_by="U0ALICE", verdict="approve", decided_at="t0", claim="c")
    once = close_approvals(bake_with(claimed), action_event("SUCCEEDED"))
    assert once.approvals[0].status == "approved" and len(once.decisions) == 1
    assert close_approvals(once, action_event("SUCCEEDED")) == once


def test_a_failure_after_the_deadline_is_an_expiry():
    after = close_approvals(bake_with(pending()), action_event("FAILED", time="2026-12-03T09:00:05Z"))
    assert after.approvals[0].status == "expired"


def test_the_execution_ending_closes_its_approval_but_not_another_executions():
    ended = PipelineEvent(
        level="pipeline", pipeline="ami-bakery-base", execution_id=EX, state="SUPERSEDED", time="2026-11-26T10:00:00Z"
    )
    assert close_approvals(bake_with(pending()), ended).approvals[0].status == "superseded"
    other = replace(ended, execution_id="99999999-2222-3333-4444-555555555555")
    assert close_approvals(bake_with(pending()), other).approvals[0].status == "pending"


def test_keys_are_short_stable_and_do_not_contain_the_token():
    token = "0f0e2a8c-7b7b-4e6c-9a53-4dc1f0a1c2d3"
    key = approval_key(token)
    assert key == approval_key(token) and key.startswith("ap-") and len(key) == 15 and token[:8] not in key


def test_closed_text_names_who_decided():
    assert "<@U0BOB>" in closed_text(pending(status="approved", decided_by="U0BOB", decided_at="now"))
    assert "being decided by <@U0BOB>" in closed_text(pending(status="deciding", decided_by="U0BOB"))


def test_a_rejection_in_the_console_seconds_before_the_deadline_is_not_an_expiry():
    # Deadlines are compared as times: within the deadline's minute, before its seconds, it has not passed.
    waiting = replace(pending(), request=replace(REQUEST, expires="2026-12-03T09:00:30Z"))
    after = close_approvals(bake_with(waiting), action_event("FAILED", time="2026-12-03T09:00:05Z"))
    assert after.approvals[0].status == "decided-elsewhere" and "rejected outside Slack" in after.approvals[0].note
