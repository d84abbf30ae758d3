"""`/bake`'s private answers in words: the image list, status reports, and the blocks that carry them."""

from __future__ import annotations

import typing

from bot.approvals.record import ApprovalState
from bot.bakes.record import Bake, StepState
from bot.commands import answers
from bot.domain.models import ApprovalRequest, Decision
from bot.domain.replies import Reply
from bot.rollouts.record import Rollout
from bot.slack.answers import answer_message, answer_text

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


def test_the_image_list_shows_each_images_parent_and_latest_amis():
    listed = answers.ImageList(
        (
            answers.ImageLine(name="base", parent=None, amis=(("ami-0123456789abcdef0", "eu-west-1"),)),
            answers.ImageLine(name="web", parent="base", amis=()),
        )
    )
    assert answer_text(listed) == (
        "*Images*\n• *base*: `ami-0123456789abcdef0` (eu-west-1)\n• *web* on top of *base*: no AMI baked yet"
    )


def test_nothing_in_flight_says_so():
    assert answer_text(answers.StatusList(subject=None, bakes=())) == "Nothing is baking right now."
    assert answer_text(answers.StatusList(subject="web", bakes=())) == "No bakes of *web* yet."


def test_one_bakes_report_lists_stages_open_approvals_and_decisions_without_pinging_anyone():
    text = answer_text(answers.BakeReport(BAKE))
    assert "    • Source: succeeded" in text
    assert "    :raised_hand: Approve/Release waits for approval until 2026-11-26T10:00Z" in text
    assert "<@U0BOB> reject Approve/Release: rejected — &lt;!channel&gt; not today" in text


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
    ]
    assert {type(s) for s in samples} == set(typing.get_args(answers.Answer)) - set(typing.get_args(Reply))
    assert all(answer_text(s) for s in samples)
