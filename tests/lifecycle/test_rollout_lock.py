"""Rollouts and sweeps exclude each other per image (issue 13 item 5), driven from outside: while a sweep holds
an image's lock, a rollout of it waits (its record is not even written), and it starts once the sweep lets go;
it never fails because a sweep runs."""

from __future__ import annotations

import json

from bot.lifecycle.locks import ImageLocks
from bot.rollouts.record import RolloutStatus
from bot.slack.text import STILL_CHECKING
from tests.fixtures.bakery import APPROVER, slash_form
from tests.test_rollouts import make_ami, make_fleet


def test_a_rollout_waits_while_a_sweep_holds_its_image_then_starts(bakery):
    ec2, _ = make_fleet()
    ami = make_ami(ec2, "base")
    locks = ImageLocks(bakery.services.store)
    response_url = bakery.slack.response_url("C0BAKERY", APPROVER)

    with locks.held("base", f"sweep:{ami}", wait=0):
        status, body = bakery.post_slack(slash_form(APPROVER, f"rollout base-canary {ami}", response_url=response_url))
        assert status == 200 and json.loads(body)["text"] == STILL_CHECKING
        assert bakery.services.rollouts.active() == []  # not written while the sweep holds the image
    answer = bakery.wait(lambda: bakery.response_to(response_url), what="the rollout's answer")

    assert "Rollout `r-" in answer["text"]
    rollout = bakery.wait(
        lambda: next((r for r in bakery.services.rollouts.active() if r.status == RolloutStatus.IN_PROGRESS), None),
        what="the rollout under way",
    )
    assert rollout.ami_id == ami and rollout.version == 2
    assert locks.holder("base") is None
