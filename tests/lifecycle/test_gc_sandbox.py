"""`/bake gc` in the sandbox (issue 13 item 7): its small lifecycle keeps no unreleased AMI, so a bake rejected at
Approve leaves one to show and, once an approver runs the sweep, it is gone with its report in the channel."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.sandbox.sandbox_process import APPROVER, REQUESTER, SandboxProcess, blocks_text, request_id_of
from tests.sandbox.test_sandbox_e2e import decide, waiting_at_approve

pytestmark = [pytest.mark.slow]


@pytest.fixture
def sandbox() -> Iterator[SandboxProcess]:
    box = SandboxProcess()
    try:
        yield box
    finally:
        code = box.stop()
        assert code == 0, "".join(box.stderr[-30:])


def test_a_rejected_bakes_ami_is_listed_by_bake_gc_and_removed_when_an_approver_runs_it(sandbox):
    rid = request_id_of(sandbox.command(REQUESTER, "base --force to be swept"))
    waiting_at_approve(sandbox, rid)
    decide(sandbox, "ami-bakery-base", "Rejected", "not this one")
    sandbox.wait(lambda: (m := sandbox.bake_message(rid)) and "rejected outside Slack" in m["text"], what="rejected")
    ec2 = sandbox.aws("ec2")
    [ami] = [
        i["ImageId"]
        for i in ec2.describe_images(Owners=["self"], Filters=[{"Name": "tag:bakery:request-id", "Values": [rid]}])[
            "Images"
        ]
    ]

    answer = sandbox.command(APPROVER, "gc")

    assert f"`{ami}` (eu-west-1)" in blocks_text(answer) and "unreleased" in blocks_text(answer)
    status, _ = sandbox.click(APPROVER, answer["ts"], "gc_confirm")
    assert status == 200
    report = sandbox.wait(
        lambda: next(
            (m for m in sandbox.messages() if "Lifecycle sweep*" in m["text"] and not m.get("ephemeral_to")), None
        ),
        what="the sweep's report in the channel",
    )
    assert ami in json.dumps(report["blocks"])
    assert (
        ec2.describe_images(Owners=["self"], Filters=[{"Name": "tag:bakery:request-id", "Values": [rid]}])["Images"]
        == []
    )
