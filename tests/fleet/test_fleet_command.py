"""`/bake fleet` driven from outside: signed slash commands and clicks against the running bot, moto's launch
templates, groups, instances and AMIs (the bakery's account and a member one), FakeAutoScaling in front."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto.ec2.models import ec2_backends

from tests.accounts.conftest import MEMBER, ROLE
from tests.accounts.two_accounts import SwitchableSts
from tests.fixtures.aws import ACCOUNT
from tests.fixtures.bakery import APPROVER, REQUESTER

REGION = "eu-west-1"


def released_ami(ec2: Any, image: str, request_id: str, day: int, *, account: str = ACCOUNT) -> str:
    """A released AMI of `image` (tagged as Publish tags it) made on 2026-11-<day> in moto."""
    ami = ec2.register_image(
        Name=f"{image}-{request_id}",
        RootDeviceName="/dev/xvda",
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
    )["ImageId"]
    tags = {"bakery:image": image, "bakery:request-id": request_id, "bakery:released": "true"}
    ec2.create_tags(Resources=[ami], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    # moto stamps every AMI "now"; the fleet orders releases by CreationDate, as EC2 has it.
    ec2_backends[account][REGION].amis[ami].creation_date = datetime(2026, 11, day, 10, tzinfo=UTC)
    return ami


def group(ec2: Any, autoscaling: Any, name: str, ami: str, instances: int = 2) -> str:
    """A launch template on `ami` and a group of `instances` launched from it; returns the template id."""
    template = ec2.create_launch_template(
        LaunchTemplateName=name, LaunchTemplateData={"ImageId": ami, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        MinSize=0,
        MaxSize=10,
        DesiredCapacity=instances,
        AvailabilityZones=[f"{REGION}a"],
    )
    return template


def baked(bakery: Any, ec2: Any, image: str, day: int) -> tuple[str, str]:
    """A bake of `image` the bot ran to success, its AMI released on 2026-11-<day>: (request id, AMI)."""
    request_id = bakery.command(REQUESTER, image)["text"].split("`")[1]
    commit = bakery.commit_of(request_id)
    ami = released_ami(ec2, image, request_id, day)
    bakery.run_pipeline(image, commit, request_id=request_id, amis=[(REGION, ami)])
    bakery.wait(lambda: (b := bakery.services.bakes.get(request_id)) and b.amis, what=f"bake {request_id}'s AMI")
    return request_id, ami


def section_of(answer: dict[str, Any], target: str) -> dict[str, Any]:
    return next(b for b in answer["blocks"] if f"*{target}*" in b.get("text", {}).get("text", ""))


def text_of(answer: dict[str, Any]) -> str:
    return "\n".join(b["text"]["text"] for b in answer["blocks"])


@pytest.fixture
def clients(bakery):
    return boto3.client("ec2", region_name=REGION), boto3.client("autoscaling", region_name=REGION)


def test_fleet_answers_privately_a_target_two_bakes_behind_with_a_button_onto_the_newest_good_ami(bakery, clients):
    ec2, autoscaling = clients
    old = released_ami(ec2, "base", "b-old001", 1)
    released_ami(ec2, "base", "b-mid002", 2)
    request_id, newest = baked(bakery, ec2, "base", 3)
    group(ec2, autoscaling, "base-canary", old)

    answer = bakery.command(REQUESTER, "fleet base")

    assert answer["response_type"] == "ephemeral"
    line = section_of(answer, "base-canary")
    assert "behind by 2 bakes for 29 days" in line["text"]["text"]  # since Nov 2, the first newer release
    assert f"`{old}` (default version, 2 instances, 2 bakes behind)" in line["text"]["text"]
    assert f"newest good base: `{newest}`" in line["text"]["text"]
    assert line["accessory"]["action_id"] == "rollout_start"

    message = {"channel": "C0BAKERY", "ts": "1.0", "blocks": answer["blocks"]}
    bakery.click(APPROVER, message, "rollout_start")
    rollout = bakery.wait(lambda: bakery.services.rollouts.active(), what="the rollout")[0]
    assert (rollout.target, rollout.ami_id, rollout.request_id) == ("base-canary", newest, request_id)


def test_a_current_target_has_no_button_and_one_mid_refresh_shows_both_amis_with_counts(bakery, clients):
    ec2, autoscaling = clients
    _, base = baked(bakery, ec2, "base", 3)
    old_web = released_ami(ec2, "web", "b-webold1", 1)
    web = released_ami(ec2, "web", "b-webnew2", 2)
    group(ec2, autoscaling, "base-canary", base)
    template = group(ec2, autoscaling, "web-prod", old_web, instances=3)
    # Half way through a refresh: the default version names the new AMI, one instance runs it, three the old.
    ec2.create_launch_template_version(
        LaunchTemplateId=template, SourceVersion="1", LaunchTemplateData={"ImageId": web}
    )
    ec2.modify_launch_template(LaunchTemplateId=template, DefaultVersion="2")
    new_instance = ec2.run_instances(ImageId=web, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    autoscaling.attach_instances(AutoScalingGroupName="web-prod", InstanceIds=[new_instance])

    answer = bakery.command(REQUESTER, "fleet")

    current = section_of(answer, "base-canary")
    assert ":white_check_mark: current" in current["text"]["text"] and "accessory" not in current
    refreshing = section_of(answer, "web-prod")["text"]["text"]
    assert f"`{web}` (default version, 1 instance)" in refreshing
    assert f"`{old_web}` (3 instances, 1 bake behind)" in refreshing


def test_an_unknown_name_is_refused_naming_the_images_and_targets(bakery):
    answer = bakery.command(REQUESTER, "fleet nope")

    assert "`nope` is neither an image nor a target" in answer["text"]
    assert "`base`, `web`" in answer["text"] and "`base-canary`, `web-prod`" in answer["text"]


def member_clients() -> tuple[Any, Any]:
    credentials = boto3.client("sts").assume_role(RoleArn=ROLE, RoleSessionName="test-seed")["Credentials"]
    keys = {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }
    return boto3.client("ec2", region_name=REGION, **keys), boto3.client("autoscaling", region_name=REGION, **keys)


def web_in_member_account(text: str) -> str:
    line = "    pipeline: ami-bakery-web\n"
    return text.replace(line, f"{line}    account_role: {ROLE}\n")


def test_a_target_in_the_member_account_is_read_there(bakery_factory):
    bakery = bakery_factory(text=web_in_member_account)
    ec2, autoscaling = member_clients()
    old = released_ami(ec2, "web", "b-webold1", 1, account=MEMBER)
    new = released_ami(ec2, "web", "b-webnew2", 5, account=MEMBER)
    group(ec2, autoscaling, "web-prod", old)

    answer = bakery.command(REQUESTER, "fleet web-prod")

    line = section_of(answer, "web-prod")["text"]["text"]
    assert line.startswith(f"*web-prod* (eu-west-1, {MEMBER}) — :hourglass: behind by 1 bake")
    assert f"newest good web: `{new}`" in line
    # The bake of that AMI is not the bot's: no button, the command that rolls it instead.
    assert f"/bake rollout web-prod {new}" in line
    assert "base-canary" not in json.dumps(answer["blocks"])


@pytest.fixture
def sts(moto: str, monkeypatch: pytest.MonkeyPatch):
    server = SwitchableSts(moto).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", server.endpoint)
    yield server
    server.stop()


def test_a_member_account_the_bot_cannot_reach_shows_its_targets_with_the_reason_and_the_rest_all_the_same(
    bakery_factory, sts
):
    sts.refuse = True
    bakery = bakery_factory(text=web_in_member_account)
    ec2, autoscaling = boto3.client("ec2", region_name=REGION), boto3.client("autoscaling", region_name=REGION)
    ami = released_ami(ec2, "base", "b-base001", 1)
    group(ec2, autoscaling, "base-canary", ami)

    answer = bakery.command(REQUESTER, "fleet")

    refused = section_of(answer, "web-prod")["text"]["text"]
    assert ":warning: could not be read" in refused and f"cannot reach account {MEMBER}" in refused
    assert ":white_check_mark: current" in section_of(answer, "base-canary")["text"]["text"]


def digest_checks(caplog: Any) -> int:
    return sum(1 for r in caplog.records if r.getMessage().startswith("fleet.digest_checked"))


def digests(bakery: Any) -> list[dict[str, Any]]:
    return [m for m in bakery.messages() if "Stale targets" in m.get("text", "")]


def test_the_stale_digest_is_posted_once_with_its_button_and_not_again_after_a_restart(bakery_factory, caplog):
    caplog.set_level("INFO", logger="bot.fleet.digest")
    quiet = {"stale_digest_delay": 3600.0}
    first = bakery_factory(**quiet)  # makes the bake of the newest AMI; its digest waits an hour
    ec2, autoscaling = boto3.client("ec2", region_name=REGION), boto3.client("autoscaling", region_name=REGION)
    old = released_ami(ec2, "base", "b-old001", 1)
    request_id, newest = baked(first, ec2, "base", 3)  # released Nov 3: base-canary is behind since then
    group(ec2, autoscaling, "base-canary", old)
    first.wait_idle()
    bakery_factory.stop(first)

    digesting = bakery_factory(stale_digest_delay=0.0)  # a restart whose digest looks at once
    posted = digesting.wait(lambda: digests(digesting), what="the stale digest")
    [message] = posted
    assert message["channel"] == "C0BAKERY"
    assert "*base-canary* (eu-west-1)" in json.dumps(message["blocks"])
    bakery_factory.stop(digesting)

    checked = digest_checks(caplog)
    again = bakery_factory(stale_digest_delay=0.0)  # another restart: the same state, the same day
    again.wait(lambda: digest_checks(caplog) > checked, what="the restarted bot's digest")
    assert len(digests(again)) == 1
    # The digest's button still resolves after the restart: onto the newest good AMI's bake.
    again.click(APPROVER, message, "rollout_start")
    rollout = again.wait(lambda: again.services.rollouts.active(), what="the rollout")[0]
    assert (rollout.target, rollout.ami_id, rollout.request_id) == ("base-canary", newest, request_id)
