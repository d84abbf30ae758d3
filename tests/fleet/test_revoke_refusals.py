"""A revoked AMI (§14) is refused from then on, driven from outside through the test bot (signed slash commands
and clicks against moto): a rollout onto it, typed or clicked, and a bake on it, a child's or an explicit
`source_ami=`. Each refusal says why, who revoked it and when, and changes nothing."""

from __future__ import annotations

import json

import pytest

from bot.fleet.revocations import Revocation, Revocations
from bot.rollouts.book import LOCK
from tests.fixtures.bakery import APPROVER, REQUESTER, SECOND_APPROVER
from tests.test_rollouts import REGION, make_ami, make_fleet, rollout_message

REASON = "CVE-2026-1234 in openssl"


@pytest.fixture
def fleet(bakery):
    return make_fleet()


def revoke_in_store(bakery, ami: str) -> None:
    """What `/bake revoke` records first, and the one thing every refusal asks."""
    rev = Revocation(ami_id=ami, reason=REASON, by=APPROVER, at="2026-12-01T10:00:00Z", image="base")
    assert Revocations(bakery.services.store).add(rev)


def released_base(bakery, fleet) -> tuple[str, str, dict]:
    """A released bake of base with an AMI in eu-west-1: (request id, AMI, its message with the buttons)."""
    request_id = bakery.command(REQUESTER, "base")["text"].split("`")[1]
    ami = make_ami(fleet[0], "base", request_id)
    bakery.run_pipeline("base", bakery.commit_of(request_id), request_id=request_id, amis=[(REGION, ami)])
    message = bakery.wait(
        lambda: (m := bakery.bake_message(request_id)) and "rollout_start" in json.dumps(m["blocks"]) and m,
        what="the bake's Roll out button",
    )
    return request_id, ami, message


def refused_for_revocation(text: str, ami: str) -> bool:
    return f"AMI `{ami}` was revoked by <@{APPROVER}>" in text and REASON in text


def test_a_rollout_onto_a_revoked_ami_is_refused_with_the_reason(bakery, fleet):
    ec2, autoscaling = fleet
    ami = make_ami(ec2, "base")
    revoke_in_store(bakery, ami)

    text = bakery.command(APPROVER, f"rollout base-canary {ami}")["text"]

    assert refused_for_revocation(text, ami) and "cannot be rolled out to `base-canary`" in text
    assert bakery.services.rollouts.active() == []
    assert not autoscaling.describe_instance_refreshes(AutoScalingGroupName="base-canary")["InstanceRefreshes"]


def test_a_roll_out_click_onto_a_revoked_ami_is_refused_with_the_reason(bakery, fleet):
    _, ami, message = released_base(bakery, fleet)
    revoke_in_store(bakery, ami)

    bakery.click(APPROVER, message, "rollout_start")

    said = bakery.wait_ephemeral(APPROVER, "was revoked")
    assert refused_for_revocation(said, ami)
    assert bakery.services.rollouts.active() == []


def test_a_child_bake_on_a_revoked_parent_ami_is_refused_with_the_reason(bakery, fleet):
    _, ami, _ = released_base(bakery, fleet)
    revoke_in_store(bakery, ami)
    commits = len(bakery.services.bakes.status("web"))

    text = bakery.command(REQUESTER, "web new app")["text"]

    assert refused_for_revocation(text, ami) and "cannot be baked on" in text
    assert len(bakery.services.bakes.status("web")) == commits


def test_an_explicit_source_ami_that_is_revoked_is_refused(bakery, fleet):
    ami = make_ami(fleet[0], "base")
    revoke_in_store(bakery, ami)

    text = bakery.command(REQUESTER, f"web source_ami={ami}")["text"]

    assert refused_for_revocation(text, ami) and "cannot be baked on" in text
    assert bakery.services.bakes.status("web") == []


def test_a_rollout_waiting_for_approval_when_its_ami_is_revoked_never_starts_and_frees_the_target(bakery, fleet):
    ec2, autoscaling = fleet
    ami = make_ami(ec2, "web")
    rid = bakery.command(APPROVER, f"rollout web-prod {ami}")["text"].split("`")[1]
    message = bakery.wait(lambda: rollout_message(bakery, rid), what="the rollout message")
    revoke_in_store(bakery, ami)

    bakery.click(SECOND_APPROVER, message, "rollout_approve")

    ended = bakery.wait(lambda: (r := bakery.services.rollouts.get(rid)) and r.terminal and r, what="its end")
    assert ended.status == "error" and f"`{ami}` was revoked by {APPROVER}" in ended.error and REASON in ended.error
    assert not autoscaling.describe_instance_refreshes(AutoScalingGroupName="web-prod")["InstanceRefreshes"]
    assert bakery.services.store.get(LOCK, "web-prod") is None  # the target is free for a good AMI
