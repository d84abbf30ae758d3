"""Records written by earlier versions load into the status enums and are written back with the same strings."""

from __future__ import annotations

from enum import Enum
from typing import Any

from bot.approvals.record import ApprovalStatus
from bot.bakes.record import Bake, BakeStatus
from bot.domain.models import Verdict
from bot.rollouts.record import Rollout, RolloutStatus

# As an earlier version stored them: statuses, verdicts and notices as plain strings.
ROLLOUT_DOC: dict[str, Any] = {
    "rollout_id": "r-abcdef",
    "target": "web-prod",
    "image": "web",
    "ami_id": "ami-0123456789abcdef0",
    "region": "eu-west-1",
    "auto_scaling_group": "web-prod",
    "requested_by": "U0ALICE",
    "requested_at": "2026-11-26T09:00:00Z",
    "channel": "C0BAKERY",
    "approval_needed": True,
    "status": "cancelled",
    "decisions": [
        {"subject": "rollout r-abcdef", "user": "U0BOB", "verdict": "cancel", "at": "2026-11-26T09:01:00Z",
         "outcome": "cancelled before it started", "reason": ""},
    ],
    "notices": [{"key": "ended:cancelled", "text": ":heavy_minus_sign: Rollout `r-abcdef` cancelled.", "posted": True}],
}  # fmt: skip

BAKE_DOC: dict[str, Any] = {
    "request_id": "b-abc234",
    "image": "base",
    "requested_by": "U0CAROL",
    "requested_at": "2026-11-26T09:00:00Z",
    "reason": "",
    "channel": "C0BAKERY",
    "pipeline": "ami-bakery-base",
    "status": "running",
    "approvals": [
        {"key": "ap-1", "pipeline": "ami-bakery-base", "stage": "Approve", "action": "Release", "token": "t1",
         "expires": "2026-12-03T09:00Z", "status": "decided-elsewhere", "verdict": ""},
        {"key": "ap-2", "pipeline": "ami-bakery-base", "stage": "Approve", "action": "Release", "token": "t2",
         "expires": "2026-12-03T09:00Z", "status": "deciding", "verdict": "approve", "decided_by": "U0BOB"},
    ],
    "decisions": [
        {"subject": "Approve/Release", "user": "U0BOB", "verdict": "reject", "at": "2026-11-26T09:01:00Z",
         "outcome": "rejected", "reason": "no"},
    ],
}  # fmt: skip


def enums_in(value: Any) -> list[Any]:
    if isinstance(value, Enum):
        return [value]
    if isinstance(value, dict):
        return [e for v in value.values() for e in enums_in(v)]
    if isinstance(value, list | tuple):
        return [e for v in value for e in enums_in(v)]
    return []


def test_a_rollout_stored_as_cancelled_loads_as_canceled_and_terminal():
    rollout = Rollout.from_doc(ROLLOUT_DOC)
    assert rollout.status is RolloutStatus.CANCELED and rollout.terminal
    assert rollout.decisions[0].verdict is Verdict.CANCEL


def test_a_stored_rollout_is_written_back_with_its_strings_not_enums():
    doc = Rollout.from_doc(ROLLOUT_DOC).to_doc()
    assert doc["status"] == "cancelled" and doc["decisions"][0]["verdict"] == "cancel"
    assert enums_in(doc) == []


def test_a_stored_bake_loads_its_approvals_and_decisions_into_enums():
    bake = Bake.from_doc(BAKE_DOC)
    assert bake.status is BakeStatus.RUNNING and not bake.terminal
    elsewhere, deciding = bake.approvals
    assert elsewhere.status is ApprovalStatus.DECIDED_ELSEWHERE and elsewhere.verdict is None and not elsewhere.open
    assert deciding.status is ApprovalStatus.DECIDING and deciding.verdict is Verdict.APPROVE and deciding.open
    assert bake.decisions[0].verdict is Verdict.REJECT


def test_a_stored_bake_is_written_back_with_its_strings_not_enums():
    doc = Bake.from_doc(BAKE_DOC).to_doc()
    assert doc["status"] == "running"
    stored = [(a["status"], a["verdict"]) for a in doc["approvals"]]
    assert stored == [("decided-elsewhere", ""), ("deciding", "approve")]
    assert doc["decisions"][0]["verdict"] == "reject"
    assert enums_in(doc) == []


def test_each_record_knows_its_ends():
    assert BakeStatus.terminal_states() == {
        BakeStatus.SUCCEEDED, BakeStatus.FAILED, BakeStatus.SUPERSEDED, BakeStatus.CANCELED, BakeStatus.STOPPED,
        BakeStatus.ERROR,
    }  # fmt: skip
    assert RolloutStatus.terminal_states() == {
        RolloutStatus.SUCCEEDED, RolloutStatus.FAILED, RolloutStatus.CANCELED, RolloutStatus.ROLLED_BACK,
        RolloutStatus.ROLLBACK_FAILED, RolloutStatus.ERROR,
    }  # fmt: skip
    assert ApprovalStatus.open_states() == {ApprovalStatus.PENDING, ApprovalStatus.DECIDING}
    assert RolloutStatus.CANCELING.polled and not RolloutStatus.AWAITING_APPROVAL.polled
