"""`/bake revoke` driven from outside (§14): signed slash commands and clicks to the test bot, EC2 through the
local stand-in (moto behind it: EnableImageDeprecation, DeprecationTime), SSM in moto, groups in FakeAutoScaling,
and the Slack stand-in's channel."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.accounts.test_regions_shown import in_us_east_1, released_in_two_regions
from tests.fixtures.bakery import APPROVER, OUTSIDER, REQUESTER
from tests.test_rollouts import REGION, make_ami

REASON = "CVE-2026-1234 in openssl"
LATEST = "/bakery/images/base/latest"


def release_tag(ec2, ami: str) -> None:
    ec2.create_tags(Resources=[ami], Tags=[{"Key": "bakery:released", "Value": "true"}])  # what Publish writes


@pytest.fixture
def world(bakery):
    """A good released bake of base (in the store, so its Roll out button can be offered), a bad released AMI that
    `latest` names, and base-canary running the bad one (launch template and two instances).
    Returns (ec2, ssm, good AMI, bad AMI)."""
    ec2 = boto3.client("ec2", region_name=REGION)
    ssm = boto3.client("ssm", region_name=REGION)
    request_id = bakery.command(REQUESTER, "base")["text"].split("`")[1]
    good = make_ami(ec2, "base", request_id)
    release_tag(ec2, good)
    bakery.run_pipeline("base", bakery.commit_of(request_id), request_id=request_id, amis=[(REGION, good)])
    bakery.wait(lambda: (b := bakery.services.bakes.get(request_id)) and b.released, what="the good release")
    bad = make_ami(ec2, "base", "b-badbake1")
    release_tag(ec2, bad)
    ssm.put_parameter(Name=LATEST, Value=bad, Type="String", DataType="aws:ec2:image")  # as Publish writes it
    template = ec2.create_launch_template(
        LaunchTemplateName="base-canary", LaunchTemplateData={"ImageId": bad, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    boto3.client("autoscaling", region_name=REGION).create_auto_scaling_group(
        AutoScalingGroupName="base-canary",
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        MinSize=2,
        MaxSize=2,
        DesiredCapacity=2,
        AvailabilityZones=[f"{REGION}a"],
    )
    return ec2, ssm, good, bad


def revoke_message(bakery, ami: str) -> dict | None:
    return next((m for m in bakery.messages() if "revoked" in m["text"] and ami in m["text"]), None)


def test_revoke_moves_latest_back_tags_deprecates_and_posts_who_is_still_on_it(bakery, world):
    ec2, ssm, good, bad = world

    answer = bakery.command(APPROVER, f"revoke {bad} {REASON}")

    assert f"Revoked `{bad}`" in answer["text"] and "<#C0BAKERY>" in answer["text"]
    assert ssm.get_parameter(Name=LATEST)["Parameter"]["Value"] == good
    [image] = ec2.describe_images(ImageIds=[bad])["Images"]
    assert {t["Key"]: t["Value"] for t in image["Tags"]}["bakery:revoked"] == REASON
    assert image.get("DeprecationTime")
    message = revoke_message(bakery, bad)
    assert message is not None and message["channel"] == "C0BAKERY"
    shown = json.dumps(message["blocks"])
    assert f"<@{APPROVER}> revoked" in shown and REASON in shown and "*base-canary*" in shown
    assert "2 instances on" in shown and f"Roll it onto `{good}`" in shown


def test_the_roll_out_button_of_the_revoke_message_rolls_onto_the_good_ami(bakery, world):
    _, _, good, bad = world
    bakery.command(APPROVER, f"revoke {bad} {REASON}")
    message = bakery.wait(lambda: revoke_message(bakery, bad), what="the revoke message")

    bakery.click(APPROVER, message, "rollout_start")

    rollout = bakery.wait(lambda: bakery.services.rollouts.active(), what="the rollout")[0]
    assert rollout.ami_id == good and rollout.target == "base-canary"


def test_after_revoke_a_rollout_onto_it_is_refused(bakery, world):
    _, _, _, bad = world
    bakery.command(APPROVER, f"revoke {bad} {REASON}")

    text = bakery.command(APPROVER, f"rollout base-canary {bad}")["text"]

    assert f"`{bad}` was revoked by <@{APPROVER}>" in text and REASON in text
    assert bakery.services.rollouts.active() == []


def test_a_second_revoke_says_it_was_revoked_already_and_posts_nothing(bakery, world):
    _, _, _, bad = world
    bakery.command(APPROVER, f"revoke {bad} {REASON}")
    bakery.wait(lambda: revoke_message(bakery, bad), what="the revoke message")
    posted = len(bakery.messages())

    text = bakery.command(APPROVER, f"revoke {bad} another reason")["text"]

    assert "was revoked already" in text and REASON in text and "Nothing changed." in text
    assert len(bakery.messages()) == posted


def test_a_non_approver_may_not_revoke(bakery, world):
    ec2, ssm, _, bad = world
    text = bakery.command(OUTSIDER, f"revoke {bad} {REASON}")["text"]
    assert "You are not allowed to revoke AMIs: you are not in `access.approvers`" in text  # not "to approve"
    assert ssm.get_parameter(Name=LATEST)["Parameter"]["Value"] == bad
    assert "bakery:revoked" not in {t["Key"] for t in ec2.describe_images(ImageIds=[bad])["Images"][0]["Tags"]}


def test_an_unknown_id_is_refused(bakery, world):
    text = bakery.command(APPROVER, f"revoke ami-0123456789abcdef0 {REASON}")["text"]
    assert "There is no AMI `ami-0123456789abcdef0` in any account or region the bakery reaches" in text


def test_an_ami_the_bakery_did_not_make_is_refused(bakery, world):
    ec2 = world[0]
    foreign = ec2.register_image(
        Name="someone-elses",
        RootDeviceName="/dev/xvda",
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
    )["ImageId"]
    text = bakery.command(APPROVER, f"revoke {foreign} {REASON}")["text"]
    assert "was not made by the bakery" in text
    assert not ec2.describe_images(ImageIds=[foreign])["Images"][0].get("Tags")


def test_revoking_one_ami_of_a_bake_revokes_its_amis_in_every_region(bakery_factory):
    """The same bake in two regions is the same content: revoking its eu-west-1 AMI withdraws the us-east-1 one
    too, and base-canary, running in us-east-1, is named as still on it."""
    bakery = bakery_factory(text=in_us_east_1)
    _, eu, us = released_in_two_regions(bakery)
    east = boto3.client("ec2", region_name="us-east-1")
    release_tag(boto3.client("ec2", region_name="eu-west-1"), eu)
    release_tag(east, us)
    template = east.create_launch_template(
        LaunchTemplateName="base-canary", LaunchTemplateData={"ImageId": us, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    boto3.client("autoscaling", region_name="us-east-1").create_auto_scaling_group(
        AutoScalingGroupName="base-canary", LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        MinSize=1, MaxSize=1, DesiredCapacity=1, AvailabilityZones=["us-east-1a"],
    )  # fmt: skip

    bakery.command(APPROVER, f"revoke {eu} {REASON}")

    for region, ami in (("eu-west-1", eu), ("us-east-1", us)):
        [image] = boto3.client("ec2", region_name=region).describe_images(ImageIds=[ami])["Images"]
        assert {t["Key"]: t["Value"] for t in image["Tags"]}["bakery:revoked"] == REASON and image["DeprecationTime"]
    shown = json.dumps(bakery.wait(lambda: revoke_message(bakery, eu), what="the revoke message")["blocks"])
    assert f"`{us}` (us-east-1)" in shown and "*base-canary* (us-east-1)" in shown
    assert "No released, unrevoked AMI of its image is there" in shown
    text = bakery.command(APPROVER, "rollout base-canary")["text"]  # the image's latest there: the revoked copy
    assert f"`{us}` was revoked by <@{APPROVER}>" in text


def released_bake(bakery, ec2) -> tuple[str, str]:
    """A bake of base run to release through the pipeline: (request id, its AMI)."""
    request_id = bakery.command(REQUESTER, "base")["text"].split("`")[1]
    ami = make_ami(ec2, "base", request_id)
    release_tag(ec2, ami)
    bakery.run_pipeline("base", bakery.commit_of(request_id), request_id=request_id, amis=[(REGION, ami)])
    bakery.wait(lambda: (b := bakery.services.bakes.get(request_id)) and b.released, what=f"{request_id} released")
    return request_id, ami


def test_revoking_the_latest_bake_moves_the_images_latest_back_so_children_bake_on_the_good_one(bakery):
    ec2 = boto3.client("ec2", region_name=REGION)
    good_request, good = released_bake(bakery, ec2)
    bad_request, bad = released_bake(bakery, ec2)
    # The image record names a released bake as latest just after the bake is marked released: wait for it.
    bakery.wait(
        lambda: bakery.services.bakes.image_summary("base").get("latest_request") == bad_request,
        what="the bad bake recorded as base's latest",
    )

    bakery.command(APPROVER, f"revoke {bad} {REASON}")

    summary = bakery.services.bakes.image_summary("base")
    assert summary["latest_request"] == good_request and [a["ami_id"] for a in summary["amis"]] == [good]
    assert good in bakery.command(REQUESTER, "list")["text"] and bad not in bakery.command(REQUESTER, "list")["text"]
    # A child bakes on the good AMI, as latest now names it, instead of being refused for the revoked one.
    text = bakery.command(REQUESTER, "web")["text"]
    child = bakery.services.bakes.get(text.split("`")[1])
    assert child is not None and child.source_ami == good, text
