"""An approval claimed by a replica that died is sent by another, once; one a live replica is sending is left alone.

Two bots on one DynamoDB table and one CodePipeline (bot/approvals/service.py resume, submit.py): a claimed
decision holds for CLAIM_SECONDS; recovery takes over only a stale claim, with a new one (a conditional write),
and calls only while CodePipeline still waits on the token.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.approvals.record import ApprovalStatus
from tests.fixtures.bakery import APPROVER, REQUESTER
from tests.fixtures.waiting import wait_for, wait_idle
from tests.takeover.dying import Died, die_once_at, hold_once_at, request_id_of


@pytest.fixture
def replicas(bakery_factory):
    return bakery_factory(backend="dynamodb"), bakery_factory(backend="dynamodb")


def puts(bakery) -> int:
    return bakery.codepipeline.operations.count("PutApprovalResult")


def lapse(bakery, request_id: str) -> None:
    """Time passes: the claim of the approval's dead replica goes stale."""
    bakery.services.bakes.mutate(request_id, lambda b: b.with_approval(replace(b.approvals[0], claim_until=0.0)))


def waiting_approval(bakery) -> str:
    rid = request_id_of(bakery.command(REQUESTER, "base monthly patching"))
    bakery.reach_approval("base", rid)
    return rid


def approval(bakery, rid: str):
    return bakery.services.bakes.get(rid).approvals[0]


def test_an_approval_whose_replica_died_after_its_claim_is_sent_once_by_the_other(
    bakery_factory, replicas, monkeypatch
):
    a, b = replicas
    rid = waiting_approval(a)
    died = die_once_at(monkeypatch, "approval.claimed")
    a.click(APPROVER, a.approval_card(rid), "bake_approve")
    wait_for(died.is_set, 15, "A to die between its claim and its call")
    wait_idle(a.bot)
    bakery_factory.stop(a)
    assert approval(b, rid).status == ApprovalStatus.DECIDING and puts(b) == 0
    assert b.services.approvals.resume() == []  # the claim is fresh: for all B knows, A is about to call
    lapse(b, rid)
    assert b.services.approvals.resume() == [approval(b, rid).key]
    wait_for(lambda: approval(b, rid).status == ApprovalStatus.APPROVED, 15, "the approval sent by B")
    wait_idle(b.bot)
    assert puts(b) == 1 and len(b.codepipeline.decisions()) == 1
    assert b.services.approvals.resume() == []  # done with: nothing to send twice


def test_an_approval_whose_replica_died_after_its_call_is_not_sent_again(bakery_factory, replicas, monkeypatch):
    a, b = replicas
    rid = waiting_approval(a)
    finish = a.services.approvals._submitter._finish

    def dies_before_recording(*args, **kw):
        raise Died("after put_approval_result")

    monkeypatch.setattr(a.services.approvals._submitter, "_finish", dies_before_recording)
    a.click(APPROVER, a.approval_card(rid), "bake_approve")
    wait_for(lambda: puts(a) == 1, 15, "A's call")
    wait_idle(a.bot)
    bakery_factory.stop(a)
    assert finish and approval(b, rid).status == ApprovalStatus.DECIDING
    lapse(b, rid)
    assert b.services.approvals.resume() == [approval(b, rid).key]
    wait_idle(b.bot)
    assert puts(b) == 1  # CodePipeline no longer waits on the token: B does not call again
    # The action's end event settles the record, as it does for any decision on its way.
    [decision] = b.codepipeline.decisions()
    b.executions[decision.execution_id] = "base"
    b.deliver(b.event(decision.execution_id, "SUCCEEDED", "Approve", "Approve"))
    wait_for(lambda: approval(b, rid).status == ApprovalStatus.APPROVED, 15, "the approval settled")


def test_the_other_replicas_recovery_leaves_an_approval_being_sent_alone(replicas, monkeypatch):
    a, b = replicas
    rid = waiting_approval(a)
    reached, release = hold_once_at(monkeypatch, "approval.claimed")
    a.click(APPROVER, a.approval_card(rid), "bake_approve")
    wait_for(reached.is_set, 15, "A between its claim and its call")
    claim = approval(a, rid).claim
    assert b.services.approvals.resume() == []
    release.set()
    wait_for(lambda: approval(a, rid).status == ApprovalStatus.APPROVED, 15, "A's approval")
    wait_idle(a.bot), wait_idle(b.bot)
    assert puts(a) == 1 and approval(a, rid).claim == claim  # never taken over
