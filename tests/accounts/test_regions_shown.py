"""Regions and accounts wherever AMIs are shown or chosen (CONTRACT §13): a bake's AMIs, one per region (and,
once distributed, copies), each named with its region and, when not the bakery's own, its account; and a
rollout takes the AMI in its target's own region and account, or says where the bake's AMIs are."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import boto3
import pytest

from bot.config import parse_config
from bot.domain.errors import BadRequest
from bot.domain.models import Ami
from bot.rollouts.which_ami import bake_ami, latest_ami
from bot.sandbox.aws.seed import register_ami
from bot.slack.train_blocks import train_message, train_report
from tests.accounts.conftest import MEMBER, ROLE
from tests.accounts.test_member_bake import in_member_account, member_ec2
from tests.fixtures.aws import ACCOUNT
from tests.fixtures.bakery import APPROVER, REQUESTER
from tests.slack.test_train_blocks import base_bake, view

CANARY_IN_US_EAST_1 = "    auto_scaling_group: base-canary\n"


def in_us_east_1(text: str) -> str:
    """The base-canary target runs in us-east-1, base itself in eu-west-1."""
    return text.replace(CANARY_IN_US_EAST_1, f"{CANARY_IN_US_EAST_1}    region: us-east-1\n", 1)


def canary_fleet(region: str) -> None:
    ec2 = boto3.client("ec2", region_name=region)
    template = ec2.create_launch_template(
        LaunchTemplateName="base-canary", LaunchTemplateData={"ImageId": "ami-00000001", "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    boto3.client("autoscaling", region_name=region).create_auto_scaling_group(
        AutoScalingGroupName="base-canary",
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        MinSize=2,
        MaxSize=2,
        DesiredCapacity=2,
        AvailabilityZones=[f"{region}a"],
    )


def released_in_two_regions(bakery: Any) -> tuple[str, str, str]:
    """A released bake of base with an AMI in eu-west-1 and one in us-east-1: (request id, eu AMI, us AMI)."""
    rid = bakery.command(REQUESTER, "base")["text"].split("`")[1]
    tags = {"bakery:request-id": rid, "bakery:image": "base"}
    eu = register_ami(boto3.client("ec2", region_name="eu-west-1"), f"base-{rid}", tags)
    us = register_ami(boto3.client("ec2", region_name="us-east-1"), f"base-{rid}", tags)
    bakery.run_pipeline("base", bakery.commit_of(rid), request_id=rid, amis=[("eu-west-1", eu), ("us-east-1", us)])
    bakery.wait(lambda: (b := bakery.services.bakes.get(rid)) and b.released and len(b.amis) == 2, what="released")
    # ... and recorded as the image's latest (when the execution's own success is handled, after Publish's).
    bakery.wait(lambda: bakery.services.bakes.image_summary("base").get("latest_request") == rid, what="latest")
    return rid, eu, us


def blocks_of(message: dict[str, Any] | None) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False) if message else ""


def test_the_bake_message_list_and_status_name_each_ami_s_region(bakery_factory):
    bakery = bakery_factory()
    rid, eu, us = released_in_two_regions(bakery)
    both = f"`{eu}` (eu-west-1)", f"`{us}` (us-east-1)"
    message = bakery.wait(
        lambda: (m := bakery.bake_message(rid)) and all(p in blocks_of(m) for p in both) and m, what="both AMIs"
    )
    assert ACCOUNT not in blocks_of(message)  # the bakery's own account goes without saying
    assert f"{eu} (eu-west-1), {us} (us-east-1)" in message["text"]
    assert f"latest AMI: {both[0]}, {both[1]}" in bakery.command(REQUESTER, "list")["text"]
    assert f" — {both[0]}, {both[1]} (" in bakery.command(REQUESTER, f"status {rid}")["text"]
    assert f" — {both[0]}, {both[1]} (" in bakery.command(REQUESTER, "status base")["text"]


def test_a_member_account_s_ami_is_shown_with_its_account(bakery_factory):
    bakery = bakery_factory(text=in_member_account)
    rid = bakery.command(REQUESTER, "base")["text"].split("`")[1]
    theirs = register_ami(member_ec2(), f"base-{rid}", {"bakery:request-id": rid, "bakery:image": "base"})
    bakery.run_pipeline("base", bakery.commit_of(rid), account=MEMBER)  # the AMI is found by its tags there
    shown = f"`{theirs}` (eu-west-1, {MEMBER})"
    bakery.wait(lambda: shown in blocks_of(bakery.bake_message(rid)), what="the AMI with its account")
    bakery.wait(lambda: bakery.services.bakes.image_summary("base").get("latest_request") == rid, what="latest")
    assert shown in bakery.command(REQUESTER, "list")["text"]
    assert shown in bakery.command(REQUESTER, f"status {rid}")["text"]


def test_the_train_shows_each_bake_s_amis_with_region_and_foreign_account():
    distributed = replace(
        base_bake(),
        amis=(
            Ami("eu-west-1", "ami-0base000000000001", ACCOUNT),
            Ami("us-east-1", "ami-0base000000000002", ACCOUNT),
            Ami("us-east-1", "ami-0base000000000003", MEMBER),
        ),
    )
    train = replace(view(), bakes={"b-base01": distributed})
    expected = (
        f"`ami-0base000000000001` (eu-west-1), `ami-0base000000000002` (us-east-1),"
        f" `ami-0base000000000003` (us-east-1, {MEMBER})"
    )
    _, blocks = train_message(train, now="2026-12-01T10:21:00Z", own_account=ACCOUNT)
    assert expected in blocks[1]["text"]["text"]
    assert expected in train_report(train, now="2026-12-01T10:21:00Z", own_account=ACCOUNT)


def test_rollout_takes_the_ami_in_the_target_s_own_region(bakery_factory):
    bakery = bakery_factory(text=in_us_east_1)
    canary_fleet("us-east-1")
    _, eu, us = released_in_two_regions(bakery)
    answer = bakery.command(APPROVER, "rollout base-canary")["text"]
    assert "Rollout `r-" in answer, answer
    rollout = bakery.services.rollouts.get(answer.split("`")[1])
    assert (rollout.ami_id, rollout.region) == (us, "us-east-1")
    # The launch template pinned in us-east-1 is the us-east-1 AMI's (the refresh then runs on the tests' clock).
    bakery.wait(lambda: (r := bakery.services.rollouts.get(rollout.rollout_id)) and r.version == 2, what="pinned")
    ec2 = boto3.client("ec2", region_name="us-east-1")
    [pinned] = ec2.describe_launch_template_versions(LaunchTemplateName="base-canary", Versions=["2"])[
        "LaunchTemplateVersions"
    ]
    assert pinned["LaunchTemplateData"]["ImageId"] == us


def test_rollout_to_a_region_the_bake_has_no_ami_in_is_refused_naming_where_it_has(bakery_factory):
    bakery = bakery_factory(text=lambda t: in_us_east_1(t).replace("region: us-east-1", "region: ap-south-1"))
    released_in_two_regions(bakery)
    answer = bakery.command(APPROVER, "rollout base-canary")["text"]
    assert (
        "No AMI of *base* in ap-south-1 is known yet; its latest bake's AMIs are in eu-west-1, us-east-1: bake one"
    ) in answer
    assert bakery.services.rollouts.active() == []


TARGETED = f"""
slack: {{channel: C0BAKERY}}
notifications: {{queue_url: "https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/ami-bakery-events"}}
images:
  base: {{repository: /tmp/base.git, pipeline: ami-bakery-base, region: eu-west-1}}
  web: {{repository: /tmp/web.git, pipeline: ami-bakery-web, region: eu-west-1, account_role: "{ROLE}"}}
targets:
  base-us: {{image: base, auto_scaling_group: base-us, launch_template: base-us, region: us-east-1}}
  web-prod: {{image: web, auto_scaling_group: web-prod, launch_template: web-prod}}
"""


def test_a_bake_s_ami_is_the_one_in_the_target_s_account_as_well_as_its_region():
    config = parse_config(TARGETED)
    bake = replace(
        base_bake(),
        request_id="b-web0001",
        image="web",
        amis=(Ami("eu-west-1", "ami-0000000000000000a", ACCOUNT), Ami("eu-west-1", "ami-0000000000000000b", MEMBER)),
    )
    # web-prod runs in web's account, the member's: not the bakery's AMI of the same region, whichever comes first.
    assert bake_ami(bake, config, config.targets["web-prod"], "eu-west-1").ami_id == "ami-0000000000000000b"
    reversed_order = replace(bake, amis=bake.amis[::-1])
    assert bake_ami(reversed_order, config, config.targets["web-prod"], "eu-west-1").ami_id == "ami-0000000000000000b"
    with pytest.raises(BadRequest) as refused:
        bake_ami(replace(bake, amis=(Ami("us-east-1", "ami-0000000000000000f", MEMBER),)), config,
                 config.targets["web-prod"], "eu-west-1")
    assert str(refused.value) == (
        f"Bake `b-web0001` made no AMI in eu-west-1 (account {MEMBER}), where `web-prod` runs; its AMIs are in"
        " us-east-1."
    )
    base = replace(bake, image="base", amis=(Ami("eu-west-1", "ami-0000000000000000c", ACCOUNT),))
    with pytest.raises(BadRequest, match=r"no AMI in us-east-1, where `base-us` runs; its AMIs are in eu-west-1\."):
        bake_ami(base, config, config.targets["base-us"], "us-east-1")
    summary = {"amis": [{"region": "us-east-1", "ami_id": "ami-0000000000000000d", "account_id": MEMBER},
                        {"region": "us-east-1", "ami_id": "ami-0000000000000000e", "account_id": ACCOUNT}]}
    assert latest_ami(summary, config, config.targets["base-us"], "us-east-1") == "ami-0000000000000000e"
