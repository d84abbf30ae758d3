"""The train's message: a line per hop with its state, duration, approver and a link to the hop's message."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.bakes.automatic import cause_reason
from bot.bakes.record import Bake, BakeStatus, StepState
from bot.domain.causes import BAKERY_USER, Cause, CauseKind
from bot.domain.models import Ami, Decision, Verdict
from bot.rollouts.record import Rollout, RolloutStatus
from bot.slack.bake_blocks import bake_message
from bot.slack.train_blocks import cause_chain, message_link, train_message
from bot.trains.record import ASK_REBAKE, Hop, HopKind, Train
from bot.trains.view import TrainView

UPSTREAM = Cause(
    kind=CauseKind.UPSTREAM,
    image="base",
    ami_id="ami-0feed000000000001",
    parameter="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    train_id="t-abc234",
)
PUBLISHED = StepState(state="Succeeded", updated="2026-12-01T10:15:00Z")


def base_bake() -> Bake:
    return Bake(
        request_id="b-base01",
        image="base",
        requested_by=BAKERY_USER,
        requested_at="2026-12-01T10:00:00Z",
        reason="",
        channel="C0BAKERY",
        pipeline="ami-bakery-base",
        source_ami=UPSTREAM.ami_id,
        cause=UPSTREAM,
        train_id="t-abc234",
        status=BakeStatus.SUCCEEDED,
        stages={"Publish": PUBLISHED},
        amis=(Ami(region="eu-west-1", ami_id="ami-0base000000000001"),),
        decisions=(Decision("Approve/Approve", "U0ALICE", Verdict.APPROVE, "2026-12-01T10:10:00Z", "approved"),),
        message_ts="1764583200.000100",
        finished_at="2026-12-01T10:15:30Z",
    )


def view() -> TrainView:
    rollout = Rollout(
        rollout_id="r-roll01",
        target="web-prod",
        image="web",
        ami_id="ami-0web0000000000001",
        region="eu-west-1",
        auto_scaling_group="web-prod",
        requested_by=BAKERY_USER,
        requested_at="2026-12-01T10:20:00Z",
        channel="C0BAKERY",
        approval_needed=True,
        thread_ts="1764583300.000200",
        status=RolloutStatus.AWAITING_APPROVAL,
    )
    train = Train(
        train_id="t-abc234",
        cause=UPSTREAM,
        root_image="base",
        channel="C0BAKERY",
        started_by=BAKERY_USER,
        started_at="2026-12-01T10:00:00Z",
        hops=(
            Hop(key="bake:base@ami-0feed000000000001", kind=HopKind.BAKE, subject="base", ref="b-base01"),
            Hop(key=f"{ASK_REBAKE}app@ami-0base000000000001", kind=HopKind.ASK, subject="app", parent_ref="b-base01"),
            Hop(key="rollout:web-prod@b-web01", kind=HopKind.ROLLOUT, subject="web-prod", ref="r-roll01"),
        ),
    )
    return TrainView(train=train, bakes={"b-base01": base_bake()}, rollouts={"r-roll01": rollout})


def test_the_train_message_has_a_line_per_hop_with_state_duration_approver_and_link():
    text, blocks = train_message(view(), now="2026-12-01T10:21:00Z")
    body = blocks[1]["text"]["text"].split("\n")
    assert text == "Release train t-abc234: upstream al2023-ami-kernel-default-x86_64 moved to `ami-0feed000000000001`"
    assert body[0] == ":zap: cause: upstream al2023-ami-kernel-default-x86_64 moved to `ami-0feed000000000001`"
    link = message_link("C0BAKERY", "1764583200.000100")
    assert body[1] == (
        ":white_check_mark: bake *base* `b-base01`: released (15m 30s), approved by <@U0ALICE>"
        f" — `ami-0base000000000001` (eu-west-1) · <{link}|message>"
    )
    assert body[2].startswith(":raised_hand: *app* waits for a person: the *Rebake app* button on <")
    assert body[3].startswith(":raised_hand: rollout *web-prod* `r-roll01` onto `ami-0web0000000000001`: waiting")
    assert "(1m 00s)" in body[3] and message_link("C0BAKERY", "1764583300.000200") in body[3]
    assert "started by" not in blocks[0]["text"]["text"]  # an automatic root: nobody to name
    assert '"button"' not in json.dumps(blocks)  # the train carries no buttons of its own


def test_an_automatic_bake_says_what_caused_it_and_its_train():
    _, blocks = bake_message(base_bake(), region="eu-west-1")
    context = blocks[1]["elements"][0]["text"]
    assert "upstream al2023-ami-kernel-default-x86_64 moved to `ami-0feed000000000001`" in context
    assert "train `t-abc234`" in context and "<@bakery>" not in context


def test_an_automatic_bakes_reason_its_cause_in_words_is_not_said_twice():
    bake = replace(base_bake(), reason=cause_reason(UPSTREAM))  # the commit subject the bakery wrote
    context = bake_message(bake, region="eu-west-1")[1][1]["elements"][0]["text"]
    assert context.count("moved to") == 1, context


def test_the_cause_chain_reads_back_to_the_root():
    parent = Cause(kind=CauseKind.PARENT, image="base", ami_id="ami-0base000000000001", request_id="b-base01")
    assert cause_chain((parent, UPSTREAM)) == (
        "base released `ami-0base000000000001` (`b-base01`) ← "
        "upstream al2023-ami-kernel-default-x86_64 moved to `ami-0feed000000000001`"
    )
