"""Private replies in words: every reply fact against its reviewed text, and refusals that carry facts."""

from __future__ import annotations

import typing

import pytest

from bot.domain import replies
from bot.domain.errors import BadRequest, PipelineError
from bot.rollouts.errors import AmiOfAnotherImage, RolloutMovedOn
from bot.rollouts.record import RolloutStatus
from bot.slack.replies import refusal_text, reply_text

GOLDEN = [
    (replies.Refused(BadRequest("There is no image `webb`.")), ":no_entry_sign: There is no image `webb`."),
    (replies.Failed(PipelineError("CodePipeline is throttling")),
     ":warning: That did not work: CodePipeline is throttling"),
    (replies.Deciding(request_id="b-abc234", approve=True), ":hourglass_flowing_sand: Approving `b-abc234`…"),
    (replies.Deciding(request_id="b-abc234", approve=False), ":hourglass_flowing_sand: Rejecting `b-abc234`…"),
    (replies.Decided(request_id="b-abc234", approve=True), ":white_check_mark: You approved `b-abc234`."),
    (replies.Decided(request_id="b-abc234", approve=False), ":white_check_mark: You rejected `b-abc234`."),
    (replies.DecisionRefused(reason="the token expired"),
     ":warning: CodePipeline did not take your decision: the token expired"),
    (replies.DecisionLost(reason="throttled"), ":warning: Your decision did not reach CodePipeline: throttled"),
    (replies.RolloutOpened(rollout_id="r-abcdef", target="web-prod", ami_id="ami-0123456789abcdef0",
                           awaits_approval=False),
     ":ship: Rollout `r-abcdef` of `web-prod` onto `ami-0123456789abcdef0` is starting."),
    (replies.RolloutOpened(rollout_id="r-abcdef", target="web-prod", ami_id="ami-0123456789abcdef0",
                           awaits_approval=True),
     ":ship: Rollout `r-abcdef` of `web-prod` onto `ami-0123456789abcdef0` waits for an approver other than you "
     "(the target needs approval)."),
    (replies.RolloutApproved(rollout_id="r-abcdef"),
     ":white_check_mark: You approved rollout `r-abcdef`; it is starting."),
    (replies.RolloutCanceled(rollout_id="r-abcdef", target="web-prod"),
     "Rollout `r-abcdef` cancelled; `web-prod` is free."),
    (replies.RolloutCanceling(rollout_id="r-abcdef"),
     "Cancelling rollout `r-abcdef`: instances already replaced stay replaced."),
    (replies.RolloutRollingBack(rollout_id="r-abcdef"),
     "Rolling back rollout `r-abcdef`: replaced instances go back to the previous version."),
    (replies.RolloutStands(rollout_id="r-abcdef", target="web-prod", ami_id="ami-0123456789abcdef0",
                           status="succeeded"),
     ":white_check_mark: Rollout `r-abcdef` of `web-prod` onto `ami-0123456789abcdef0`: succeeded by now "
     "(see its message)."),
    (replies.ChildRebaking(child="web", ami_id="ami-0123456789abcdef0", request_id="b-abc234", train_id="t-abc234"),
     ":repeat: Rebaking `web` on `ami-0123456789abcdef0`: bake `b-abc234` (train `t-abc234`)."),
    (replies.ChildRebaking(child="web", ami_id="ami-0123456789abcdef0", request_id="", train_id="t-abc234"),
     "Nothing opened: `web` already has a released bake with these inputs on `ami-0123456789abcdef0`, "
     "or a bake of it is in flight."),
    (replies.GcSwept(removed=3, freed_gb=24, in_use=1, failed=0, channel="C0BAKERY"),
     ":broom: Sweep done: 3 AMIs removed, 24 GB freed, 1 kept in use. The report is in <#C0BAKERY>."),
    (replies.GcSwept(removed=1, freed_gb=8, in_use=0, failed=2, channel="C0BAKERY"),
     ":warning: Sweep done: 1 AMI removed, 8 GB freed, 0 kept in use, 2 refused by AWS (found again next time). "
     "The report is in <#C0BAKERY>."),
]  # fmt: skip


@pytest.mark.parametrize("reply, expected", GOLDEN, ids=[f"{type(r).__name__}-{i}" for i, (r, _) in enumerate(GOLDEN)])
def test_each_reply_reads_as_reviewed(reply, expected):
    assert reply_text(reply) == expected


def test_every_reply_fact_has_reviewed_words():
    assert {type(reply) for reply, _ in GOLDEN} == set(typing.get_args(replies.Reply))


def test_a_late_click_on_a_rollout_says_what_it_is_now_and_who_approved_it():
    error = RolloutMovedOn(
        rollout_id="r-abcdef", wanted="waiting for approval", status=RolloutStatus.IN_PROGRESS, approved_by="U0BOB"
    )
    assert refusal_text(error) == (
        "Rollout `r-abcdef` is no longer waiting for approval: it is in progress (approved by <@U0BOB>)."
    )


def test_an_ami_tagged_for_another_image_is_named_without_letting_its_tag_ping_anyone():
    error = AmiOfAnotherImage(
        ami_id="ami-0123456789abcdef0", tagged="<!channel>", target="web-prod", image="web", tag="bakery:image"
    )
    text = refusal_text(error)
    assert "an image of *&lt;!channel&gt;*" in text and "<!channel>" not in text
    assert "<!channel>" not in str(error)  # the plain message, for logs and any other reader, leaves the tag out
