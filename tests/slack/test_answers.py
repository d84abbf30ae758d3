"""`/bake`'s private answers in words: the image list, status reports, and the blocks that carry them."""

from __future__ import annotations

import typing
from dataclasses import replace

import pytest

from bot.approvals.record import ApprovalState
from bot.bakes.record import Bake, StepState
from bot.commands import answers
from bot.domain.causes import Cause, CauseKind
from bot.domain.models import Ami, ApprovalRequest, Decision
from bot.domain.replies import Reply
from bot.fleet.facts import FleetReport
from bot.fleet.revocations import Revocation
from bot.fleet.revoke_facts import Revoked
from bot.lifecycle.report import GcPreview, SweepReport
from bot.rollouts.record import Rollout
from bot.sandbox.slack.limits import block_problems
from bot.slack.answers import answer_message, answer_text
from bot.trains.record import Train
from bot.trains.view import TrainView

BAKE = Bake(
    request_id="b-abc234",
    image="base",
    requested_by="U0CAROL",
    requested_at="2026-11-26T09:00:00Z",
    reason="",
    channel="C0BAKERY",
    pipeline="ami-bakery-base",
    status="running",
    stages={"Source": StepState("SUCCEEDED", "2026-11-26T09:01:00Z")},
    approvals=(
        ApprovalState(
            key="ap-1",
            request=ApprovalRequest(
                region="eu-west-1", console_link="", pipeline="ami-bakery-base", stage="Approve", action="Release",
                token="t", expires="2026-11-26T10:00Z",
            ),  # fmt: skip
        ),
    ),
    decisions=(
        Decision(subject="Approve/Release", user="U0BOB", verdict="reject", at="2026-11-26T09:05:00Z",
                 outcome="rejected", reason="<!channel> not today"),
    ),
)  # fmt: skip


def test_a_bake_answer_points_to_its_channel_and_its_status_command():
    text, blocks = answer_message(answers.BakeOpened(request_id="b-abc234", image="web", channel="C0BAKERY"))
    assert text == (
        ":bread: Bake `b-abc234` of *web* requested. Follow it in <#C0BAKERY>; "
        "`/bake status b-abc234` tells where it stands."
    )
    assert blocks == [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def test_the_image_list_shows_each_images_parent_targets_variables_and_latest_amis():
    listed = answers.ImageList(
        (
            answers.ImageLine(
                name="base", parent=None, amis=(Ami("eu-west-1", "ami-0123456789abcdef0"),),
                variables=(("instance_type", "t3.micro"),),
            ),
            answers.ImageLine(
                name="web", parent="base", amis=(), variables=(("app_version", "1.0.0"), ("instance_type", "t3.micro")),
                targets=("web-canary", "web-prod"),
            ),
            answers.ImageLine(name="tools", parent="base", amis=()),
        )
    )  # fmt: skip
    assert answer_text(listed) == (
        "*Images*\n"
        "• *base*\n"
        "    variables (defaults): `instance_type=t3.micro`\n"
        "    latest AMI: `ami-0123456789abcdef0` (eu-west-1)\n"
        "• *web* on top of *base* — rolls out to `web-canary`, `web-prod`\n"
        "    variables (defaults): `app_version=1.0.0`, `instance_type=t3.micro`\n"
        "    latest AMI: none baked yet\n"
        "• *tools* on top of *base*\n"
        "    no variables to set\n"
        "    latest AMI: none baked yet"
    )


def test_help_is_the_usage_then_each_image_without_its_amis():
    usage = answers.Usage(
        "*Usage*",
        (answers.ImageLine("web", "base", (Ami("eu-west-1", "ami-0123456789abcdef0"),), (("a", "1"),), ("p",)),),
    )
    text, blocks = answer_message(usage)
    assert [b["text"]["text"] for b in blocks] == [
        "*Usage*",
        "*Images you can bake*\n• *web* on top of *base* — rolls out to `p`\n    variables (defaults): `a=1`",
    ]
    assert text == "*Usage*\n\n" + blocks[1]["text"]["text"]


def _many_images(n: int) -> tuple[answers.ImageLine, ...]:
    return tuple(
        answers.ImageLine(
            name=f"image-{i:03d}-" + "x" * 50, parent="base-" + "y" * 58,
            amis=tuple(
                Ami(r, f"ami-{i:017x}", "210987654321") for r in ("eu-west-1", "us-east-1", "ap-south-1", "eu-north-1")
            ),
            variables=tuple((f"variable_{j}_" + "k" * 50, "v" * 256) for j in range(12)),
            targets=tuple(f"target-{j}-" + "t" * 55 for j in range(9)),
        )
        for i in range(n)
    )  # fmt: skip


@pytest.mark.parametrize("command", ["list", "help"])
@pytest.mark.parametrize("n", [1, 40, 500])
def test_help_and_list_of_many_long_images_stay_within_slacks_limits(command, n):
    images = _many_images(n)
    text, blocks = answer_message(answers.ImageList(images) if command == "list" else answers.Usage("*Use*", images))
    assert block_problems(blocks) == []
    assert len(blocks) <= 50 and len(text) <= 3000
    shown = "\n".join(b["text"]["text"] for b in blocks)
    named = [i for i in range(n) if f"*image-{i:03d}-" in shown]
    assert named == list(range(len(named)))  # whole entries, in order
    if len(named) < n:
        assert blocks[-1]["text"]["text"] == f"_…and {n - len(named)} more images, not shown here._"
    assert "and 4 more variables" in shown and "and 3 more targets" in shown
    assert ("and 1 more AMI" in shown) == (command == "list")


def test_nothing_in_flight_says_so():
    assert answer_text(answers.StatusList(subject=None, bakes=(), images=("base", "web"))) == (
        "Nothing is baking right now.\nNothing has been baked yet.\n"
        "Start one with `/bake <image> [key=value ...] [reason]`; the images are *base*, *web*. "
        "`/bake help` lists their variables."
    )
    assert answer_text(answers.StatusList(subject="web", bakes=())) == "No bakes of *web* yet."


def test_nothing_in_flight_shows_the_last_bakes_and_how_to_start_one():
    done = replace(BAKE, request_id="b-def567", status="succeeded")
    text = answer_text(answers.StatusList(None, (), last=(done, BAKE), images=tuple(f"i{n}" for n in range(25))))
    lines = text.splitlines()
    assert lines[:2] == ["Nothing is baking right now.", "*Last bakes*"]
    assert "`b-def567`" in lines[2] and "`b-abc234`" in lines[3]
    assert lines[4].startswith("Start one with `/bake <image> [key=value ...] [reason]`; the images are *i0*, *i1*,")
    assert "*i19* and 5 more. `/bake help` lists their variables." in lines[4]


def test_one_bakes_report_lists_stages_open_approvals_and_decisions_without_pinging_anyone():
    text = answer_text(answers.BakeReport(BAKE))
    assert "    • Source: succeeded" in text
    assert "    :raised_hand: Approve/Release waits for approval until 2026-11-26T10:00Z" in text
    assert "<@U0BOB> reject Approve/Release: rejected — &lt;!channel&gt; not today" in text


NOW = "2026-11-26T09:30:00Z"
CAUSE = Cause(kind=CauseKind.PARENT, image="base", ami_id="ami-0123456789abcdef0", request_id="b-abc234")


def test_every_answer_of_bake_has_words():
    rollout = Rollout(
        rollout_id="r-abcdef", target="web-prod", image="web", ami_id="ami-0123456789abcdef0", region="eu-west-1",
        auto_scaling_group="web-prod", requested_by="U0ALICE", requested_at="2026-11-26T09:00:00Z",
        channel="C0BAKERY", approval_needed=False,
    )  # fmt: skip
    samples = [
        answers.Usage("*Usage*"),
        answers.ImageList(()),
        answers.BakeOpened("b-abc234", "web", "C0BAKERY"),
        answers.StatusList(None, ()),
        answers.BakeReport(BAKE),
        answers.RolloutReport(rollout),
        answers.TrainReport(TrainView(Train("t-abc234", CAUSE, "base", "C0BAKERY", "U0CAROL", NOW)), now=NOW),
        FleetReport(None, ()),
        Revoked(Revocation("ami-0123456789abcdef0", "CVE", "U0ALICE", NOW), "base", (), "C0BAKERY", first=True),
        GcPreview(SweepReport(dry_run=True, images=("base",)), key=""),
    ]
    assert {type(s) for s in samples} == set(typing.get_args(answers.Answer)) - set(typing.get_args(Reply))
    assert all(answer_text(s) for s in samples)
