"""The bake record as stored: what this version writes reads back, and so does what the previous one wrote."""

from __future__ import annotations

from bot.approvals.record import ApprovalState, ApprovalStatus
from bot.bakes.record import Bake
from bot.domain.models import ApprovalRequest

REQUEST = ApprovalRequest(
    region="eu-west-1",
    console_link="https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/ami-bakery-base/view",
    pipeline="ami-bakery-base",
    stage="Approve",
    action="Approve",
    token="0a1b2c3d-token",
    expires="2026-12-03T09:14Z",
    custom_data="Check the CIS report",
)
BAKE = Bake(
    request_id="b-abc234",
    image="base",
    requested_by="U0CAROL",
    requested_at="2026-11-26T09:00:00Z",
    reason="monthly",
    channel="C0BAKERY",
    pipeline="ami-bakery-base",
    approvals=(
        ApprovalState(
            key="ap-7f3k2q",
            request=REQUEST,
            execution_id="5f0d2a4e-1c3b-4d6e-8f9a-0b1c2d3e4f50",
            status=ApprovalStatus.DECIDING,
            decided_by="U0ALICE",
            claim="c0ffee",
        ),
    ),
)

# An approval as the version before this one stored it: the notification's fields beside the state's own.
FLAT_APPROVAL = {
    "key": "ap-7f3k2q",
    "pipeline": "ami-bakery-base",
    "stage": "Approve",
    "action": "Approve",
    "token": "0a1b2c3d-token",
    "expires": "2026-12-03T09:14Z",
    "execution_id": "5f0d2a4e-1c3b-4d6e-8f9a-0b1c2d3e4f50",
    "region": "eu-west-1",
    "console_link": REQUEST.console_link,
    "review_link": "",
    "external_link": "",
    "custom_data": "Check the CIS report",
    "received_at": "",
    "status": "deciding",
    "decided_by": "U0ALICE",
    "decided_at": "",
    "verdict": "",
    "reason": "",
    "note": "",
    "claim": "c0ffee",
}


def test_a_bake_with_an_approval_reads_back_as_it_was_written():
    assert Bake.from_doc(BAKE.to_doc()) == BAKE


def test_an_approval_holds_the_notification_once_not_its_fields_again():
    [stored] = BAKE.to_doc()["approvals"]
    assert stored["request"]["token"] == REQUEST.token
    assert not {"pipeline", "stage", "action", "token", "expires"} & set(stored)


def test_a_bake_stored_by_the_previous_version_loads_with_its_approval_request():
    doc = {**BAKE.to_doc(), "approvals": [FLAT_APPROVAL]}
    assert Bake.from_doc(doc) == BAKE
