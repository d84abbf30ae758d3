"""One bake record per state its message can be in, as the bot would hold it, for the renderer's tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.approvals.record import ApprovalState
from bot.bakes.record import Bake, StepState
from bot.domain.models import Ami, ApprovalRequest, Verdict
from bot.rollouts.record import Rollout, TargetRuns

EXECUTION = "0c6ab1a2-0000-4000-8000-000000000001"
TARGETS = (("web-prod", "rs-webprod"), ("web-staging", "rs-webstaging"))
AMI = Ami("eu-west-1", "ami-0123456789abcdef0", "123456789012")


def step(state: str, minute: int, *, ended: bool = True, **kw: Any) -> StepState:
    start = f"2026-11-26T09:{minute:02d}:00Z"
    end = f"2026-11-26T09:{minute:02d}:30Z" if ended else ""
    return StepState(state, end or start, start, end, **kw)


def stages(*states: str, running: str = "") -> dict[str, StepState]:
    names = ("Source", "Validate", "Bake", "Test", "Approve", "Publish")
    out = {name: step(state, i) for i, (name, state) in enumerate(zip(names, states, strict=False))}
    if running:
        out[running] = step("STARTED", len(out), ended=False)
    return out


REQUEST = ApprovalRequest(
    region="eu-west-1",
    console_link="https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/ami-bakery-web/view",
    pipeline="ami-bakery-web",
    stage="Approve",
    action="ManualApproval",
    token="tok-secret",
    expires="2026-11-27T09:04Z",
    custom_data="Check the CIS report first",
)


def approval(**kw: Any) -> ApprovalState:
    return ApprovalState(key="ap-abc123", request=REQUEST, execution_id=EXECUTION, **kw)


BASE = Bake(
    request_id="b-7f3k2q",
    image="web",
    requested_by="U0CAROL",
    requested_at="2026-11-26T09:00:00Z",
    reason="CVE-2026-1234",
    channel="C0BAKERY",
    pipeline="ami-bakery-web",
    commit_id="a" * 40,
    execution_id=EXECUTION,
    variables={"instance_type": "t3.small"},
    source_ami="ami-0fedcba9876543210",
)
DONE = ("SUCCEEDED",) * 4
REJECTED_STEP = {"Approve/ManualApproval": step("FAILED", 4, category="Approval", summary="CIS score dropped")}


def rollout(status: str, **kw: Any) -> Rollout:
    base: dict[str, Any] = dict(
        rollout_id="r-abcdef",
        target="web-prod",
        image="web",
        ami_id=AMI.ami_id,
        region="eu-west-1",
        auto_scaling_group="web-prod",
        requested_by="U0ALICE",
        requested_at="2026-11-26T10:00:00Z",
        channel="C0BAKERY",
        thread_ts="1700000000.000100",  # in the bake's thread, as a rollout of a bake with a message is
        approval_needed=True,
        request_id=BASE.request_id,
        status=status,
    )
    return Rollout(**{**base, **kw})


# What web-prod runs after a later bake's AMI replaced this one there.
REPLACED_BY = {
    "web-prod": TargetRuns(
        "web-prod", "r-later1", "b-later1", "ami-0aaaaaaaaaaaaaaa1", "2026-11-27T10:00:00Z", "b-7f3k2q"
    )
}


def examples() -> dict[str, tuple[Bake, tuple[Rollout, ...]]]:
    """state name -> (bake, its rollouts). The name is the file name of the state's golden text.

    `RUNS` says what the targets run now in the example that needs it (`rolled_out_then_replaced`)."""
    released = replace(BASE, status="succeeded", stages=stages(*DONE, "SUCCEEDED", "SUCCEEDED"), amis=(AMI,))
    approved = approval(status="approved", decided_by="U0ALICE", decided_at="2026-11-26T09:04:20Z", verdict="approve")
    released = replace(released, approvals=(approved,))
    return {
        "requested": (replace(BASE, commit_id="", execution_id=""), ()),
        "committed": (replace(BASE, status="committed", execution_id=""), ()),
        "running": (replace(BASE, status="running", stages=stages("SUCCEEDED", "SUCCEEDED", running="Bake")), ()),
        "waiting_for_approval": (
            replace(
                BASE, status="running", stages=stages(*DONE, running="Approve"), amis=(AMI,), approvals=(approval(),)
            ),
            (),
        ),
        "deciding": (
            replace(
                BASE,
                status="running",
                stages=stages(*DONE, running="Approve"),
                amis=(AMI,),
                approvals=(approval(status="deciding", decided_by="U0ALICE", verdict=Verdict.APPROVE, claim="c"),),
            ),
            (),
        ),
        "succeeded": (released, ()),
        "rolling_out": (released, (rollout("in_progress", refresh_id="abcd1234", percentage=40),)),
        "rolled_out": (released, (rollout("succeeded", finished_at="2026-11-26T10:05:00Z"),)),
        "rollout_failed": (released, (rollout("rolled_back", finished_at="2026-11-26T10:05:00Z"),)),
        "rolled_out_then_replaced": (released, (rollout("succeeded", finished_at="2026-11-26T10:05:00Z"),)),
        "failed": (
            replace(BASE, status="failed", stages=stages("SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "FAILED"), amis=(AMI,)),
            (),
        ),
        "rejected": (
            replace(
                BASE,
                status="failed",
                stages=stages(*DONE, "FAILED"),
                actions=REJECTED_STEP,
                amis=(AMI,),
                approvals=(
                    approval(
                        status="rejected",
                        decided_by="U0ALICE",
                        decided_at="2026-11-26T09:04:20Z",
                        verdict="reject",
                        reason="CIS score dropped",
                    ),
                ),
            ),
            (),
        ),
        "rejected_in_the_console": (
            replace(
                BASE,
                status="failed",
                stages=stages(*DONE, "FAILED"),
                actions=REJECTED_STEP,
                amis=(AMI,),
                approvals=(approval(status="decided-elsewhere", note="rejected outside Slack (console or API)"),),
            ),
            (),
        ),
        "approval_expired": (
            replace(
                BASE,
                status="failed",
                stages=stages(*DONE, "FAILED"),
                amis=(AMI,),
                approvals=(approval(status="expired", note="no decision before it expired"),),
            ),
            (),
        ),
        "superseded": (replace(BASE, status="superseded", stages=stages(*DONE, running="Approve"), amis=(AMI,)), ()),
        "stopped": (replace(BASE, status="stopped", stages=stages("SUCCEEDED", "STOPPED")), ()),
        "canceled": (replace(BASE, status="canceled", stages=stages("SUCCEEDED")), ()),
        "error": (
            replace(BASE, status="error", commit_id="", execution_id="", error="the repository refused the push"),
            (),
        ),
    }


RUNS: dict[str, dict[str, TargetRuns]] = {"rolled_out_then_replaced": REPLACED_BY}


def flat(blocks: list[dict[str, Any]]) -> str:
    """Block Kit as a reader sees it, as text: every section, field, context and button label, in order."""
    lines: list[str] = []
    for block in blocks:
        if "text" in block:
            lines.append(block["text"]["text"])
        lines += [f["text"] for f in block.get("fields", [])]
        for element in block.get("elements", []):
            lines.append(f"[{element['text']['text']}]" if element.get("type") == "button" else element["text"])
    return "\n".join(lines) + "\n"
