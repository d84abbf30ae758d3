"""The fleet's Roll out buttons (`rollout_start`, §6) pressed with what the bot never offered, by whom it does not
let roll out, or long after: each click is answered privately and clearly, and no rollout opens."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.fixtures.bakery import APPROVER, REQUESTER
from tests.fleet.test_fleet_command import REGION, baked, group, released_ami, section_of


@pytest.fixture
def fleet_answer(bakery):
    """base-canary two bakes behind: the private /bake fleet answer with its Roll out button."""
    ec2, autoscaling = boto3.client("ec2", region_name=REGION), boto3.client("autoscaling", region_name=REGION)
    old = released_ami(ec2, "base", "b-old001", 1)
    _, newest = baked(bakery, ec2, "base", 3)
    group(ec2, autoscaling, "base-canary", old)
    answer = bakery.command(REQUESTER, "fleet base")
    assert section_of(answer, "base-canary")["accessory"]["action_id"] == "rollout_start"
    return {"channel": "C0BAKERY", "ts": "1.0", "blocks": answer["blocks"]}, newest


def with_value(message: dict, value: str) -> dict:
    key = next(b["accessory"]["value"] for b in message["blocks"] if "accessory" in b)
    return json.loads(json.dumps(message).replace(f'"{key}"', json.dumps(value)))


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("rs-0000000000ab", "I do not know this button (it may belong to another bot or be very old)."),
        ("gc-0123456789ab", "I do not know this button"),  # a sweep offer's key under rollout_start
        ("$(reboot) rs-1", "no key I issued"),
    ],
)
def test_a_key_the_bot_never_offered_opens_no_rollout(bakery, fleet_answer, value, said):
    message, _ = fleet_answer

    bakery.click(APPROVER, with_value(message, value), "rollout_start")

    bakery.wait_ephemeral(APPROVER, said)
    bakery.wait_idle()
    assert bakery.services.rollouts.active() == []


def test_a_click_by_someone_who_may_not_roll_out_opens_no_rollout(bakery, fleet_answer):
    message, _ = fleet_answer

    bakery.click(REQUESTER, message, "rollout_start")

    bakery.wait_ephemeral(REQUESTER, "You are not allowed to roll out: you are not in `access.deployers`")
    assert bakery.services.rollouts.active() == []


def test_an_old_answer_s_button_onto_an_ami_revoked_since_is_refused_with_the_reason(bakery, fleet_answer):
    message, newest = fleet_answer
    bakery.command(APPROVER, f"revoke {newest} CVE-2026-1 in the new one")

    bakery.click(APPROVER, message, "rollout_start")

    said = bakery.wait_ephemeral(APPROVER, "was revoked")
    assert f"`{newest}`" in said and "CVE-2026-1 in the new one" in said
    assert bakery.services.rollouts.active() == []
