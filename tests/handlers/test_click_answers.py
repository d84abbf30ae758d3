"""A click's private answer: one per click, worded when it is sent, so it never says what stopped being true."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any

from bot.domain.replies import Deciding, RolloutApproved, RolloutOpened, RolloutStands
from bot.rollouts.record import Rollout
from handlers.actions import answer_click, as_it_stands

ROLLOUT = Rollout(
    rollout_id="r-abcdef",
    target="web-prod",
    image="web",
    ami_id="ami-0123456789abcdef0",
    region="eu-west-1",
    auto_scaling_group="web-prod",
    requested_by="U0ALICE",
    requested_at="2026-11-26T10:00:00Z",
    channel="C0BAKERY",
    approval_needed=False,
    status="starting",
)
CLICK = {
    "type": "block_actions",
    "user": {"id": "U0ALICE"},
    "channel": {"id": "C0BAKERY"},
    "container": {"message_ts": "1.000001"},
    "actions": [{"action_id": "rollout_start", "value": "rs-abc123"}],
}


class Bot:
    """The few services a click's answer uses: the rollouts' records, the answers pool and `tell`."""

    def __init__(self, rollout: Rollout):
        self.record = rollout
        self.rollouts = SimpleNamespace(
            get=lambda rollout_id: self.record if rollout_id == rollout.rollout_id else None
        )
        self.answers = SimpleNamespace(later=lambda work: work())
        self.requests = SimpleNamespace(first=lambda keys: True)  # every click here is a first delivery
        self.told: list[Any] = []

    def tell(self, *, channel: str, user: str, text: Any) -> None:
        self.told.append(text)


def opened(**kw: Any) -> RolloutOpened:
    return RolloutOpened(rollout_id="r-abcdef", target="web-prod", ami_id=ROLLOUT.ami_id, **kw)


def test_a_rollout_answer_still_true_when_sent_is_sent_as_it_was():
    bot = Bot(ROLLOUT)
    assert as_it_stands(bot, opened(awaits_approval=False)) == opened(awaits_approval=False)  # type: ignore[arg-type]
    bot.record = replace(ROLLOUT, status="awaiting_approval")
    assert as_it_stands(bot, opened(awaits_approval=True)) == opened(awaits_approval=True)  # type: ignore[arg-type]


def test_it_is_starting_is_not_said_once_the_rollout_ended():
    bot = Bot(replace(ROLLOUT, status="succeeded"))
    for reply in (opened(awaits_approval=False), RolloutApproved(rollout_id="r-abcdef")):
        now = as_it_stands(bot, reply)  # type: ignore[arg-type]
        assert now == RolloutStands("r-abcdef", "web-prod", ROLLOUT.ami_id, "succeeded")


def test_the_answer_is_worded_when_it_is_sent_not_when_the_click_was_handled():
    bot = Bot(ROLLOUT)
    answer_click(bot, CLICK, lambda services, click: opened(awaits_approval=False))  # type: ignore[arg-type]
    [text] = bot.told
    bot.record = replace(ROLLOUT, status="succeeded")  # the workers send it only now
    assert callable(text) and "succeeded by now" in text() and "is starting" not in text()


def test_a_decision_on_its_way_is_not_answered_beside_its_outcome():
    bot = Bot(ROLLOUT)
    answer_click(bot, CLICK, lambda services, click: Deciding(request_id="b-abc234", approve=True))  # type: ignore[arg-type]
    assert bot.told == []  # the card in the thread shows it; the outcome is the one private answer
