"""Rolling redeploys from the channel: signed commands and clicks, moto's groups and launch templates, and
instance refreshes served by FakeAutoScaling on a clock the tests move."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.fixtures.bakery import APPROVER, OUTSIDER, REFRESH_SECONDS, REQUESTER, SECOND_APPROVER

REGION = "eu-west-1"


def blocks(message: dict) -> str:
    return json.dumps(message["blocks"])


@pytest.fixture
def fleet(bakery):
    """A launch template and a two-instance group per target; returns (ec2, autoscaling) clients."""
    return make_fleet()


def make_fleet():
    ec2 = boto3.client("ec2", region_name=REGION)
    autoscaling = boto3.client("autoscaling", region_name=REGION)  # via FakeAutoScaling (env endpoint)
    for name in ("base-canary", "web-prod"):
        template = ec2.create_launch_template(
            LaunchTemplateName=name, LaunchTemplateData={"ImageId": "ami-00000001", "InstanceType": "t3.micro"}
        )["LaunchTemplate"]["LaunchTemplateId"]
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
            MinSize=2,
            MaxSize=2,
            DesiredCapacity=2,
            AvailabilityZones=[f"{REGION}a"],
        )
    return ec2, autoscaling


def make_ami(ec2, image: str, request_id: str = "b-unknown1") -> str:
    ami = ec2.register_image(
        Name=f"{image}-{request_id}",
        RootDeviceName="/dev/xvda",
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
    )["ImageId"]
    ec2.create_tags(
        Resources=[ami],
        Tags=[{"Key": "bakery:image", "Value": image}, {"Key": "bakery:request-id", "Value": request_id}],
    )
    return ami


def rollout_message(bakery, rollout_id: str) -> dict | None:
    for m in bakery.messages():
        if f"Rollout `{rollout_id}`" in blocks(m) and "Rollout" in m["text"] and m["text"].startswith("Rollout"):
            return m
    return None


def rollout_id_of(answer: dict) -> str:
    assert "Rollout `r-" in answer["text"], answer["text"]
    return answer["text"].split("`")[1]


def wait_status(bakery, rollout_id: str, status: str) -> dict:
    bakery.wait(
        lambda: (r := bakery.services.rollouts.get(rollout_id)) and r.status == status and r.settled,
        what=f"rollout {rollout_id} {status}",
    )
    return rollout_message(bakery, rollout_id)


def test_a_rollout_pins_a_new_template_version_shows_progress_and_makes_it_the_default(bakery, fleet):
    ec2, autoscaling = fleet
    ami = make_ami(ec2, "base")
    rid = rollout_id_of(bakery.command(APPROVER, f"rollout base-canary {ami}"))
    bakery.wait(lambda: (r := bakery.services.rollouts.get(rid)) and r.refresh_id, what="the refresh")
    [refresh] = autoscaling.describe_instance_refreshes(AutoScalingGroupName="base-canary")["InstanceRefreshes"]
    assert refresh["DesiredConfiguration"]["LaunchTemplate"]["Version"] == "2"
    prefs = refresh["Preferences"]
    assert prefs["MinHealthyPercentage"] == 50 and prefs["InstanceWarmup"] == 60
    assert prefs["SkipMatching"] is True and prefs["AutoRollback"] is True
    assert prefs["ScaleInProtectedInstances"] == "Wait" and prefs["StandbyInstances"] == "Wait"
    version = ec2.describe_launch_template_versions(LaunchTemplateName="base-canary", Versions=["2"])
    assert version["LaunchTemplateVersions"][0]["LaunchTemplateData"]["ImageId"] == ami

    bakery.refresh_clock.advance(REFRESH_SECONDS * 0.5)
    message = bakery.wait(
        lambda: (m := rollout_message(bakery, rid)) and "instance" in blocks(m) and "%" in blocks(m) and m,
        what="progress",
    )
    assert "left" in blocks(message) and "rollout_cancel" in blocks(message)
    bakery.refresh_clock.advance(REFRESH_SECONDS)
    message = wait_status(bakery, rid, "succeeded")
    assert "succeeded" in blocks(message) and "rollout_cancel" not in blocks(message)
    template = ec2.describe_launch_templates(LaunchTemplateNames=["base-canary"])["LaunchTemplates"][0]
    assert template["DefaultVersionNumber"] == 2
    # The target is free again.
    assert "Rollout `r-" in bakery.command(APPROVER, f"rollout base-canary {ami}")["text"]


def test_only_deployers_may_roll_out(bakery, fleet):
    ami = make_ami(fleet[0], "base")
    answer = bakery.command(REQUESTER, f"rollout base-canary {ami}")
    assert "access.deployers" in answer["text"]
    assert not fleet[1].describe_instance_refreshes(AutoScalingGroupName="base-canary")["InstanceRefreshes"]


def test_an_ami_of_another_image_is_refused(bakery, fleet):
    ami = make_ami(fleet[0], "web")
    answer = bakery.command(APPROVER, f"rollout base-canary {ami}")
    assert "image of *web*" in answer["text"] and "bakery:image=base" in answer["text"]
    missing = bakery.command(APPROVER, "rollout base-canary ami-0000000000000000f")["text"]
    assert "There is no AMI `ami-0000000000000000f`" in missing


def test_an_unknown_target_and_no_baked_ami_are_explained(bakery, fleet):
    assert "There is no target `nope`" in bakery.command(APPROVER, "rollout nope")["text"]
    assert "No AMI of *base*" in bakery.command(APPROVER, "rollout base-canary")["text"]


def test_a_second_rollout_of_a_taken_target_is_told_who_holds_it(bakery, fleet):
    ami = make_ami(fleet[0], "base")
    first = rollout_id_of(bakery.command(APPROVER, f"rollout base-canary {ami}"))
    answer = bakery.command(SECOND_APPROVER, f"rollout base-canary {ami}")
    assert f"<@{APPROVER}> is rolling it onto `{ami}` since" in answer["text"] and first in answer["text"]


def test_a_gated_rollout_needs_another_approver(bakery, fleet):
    ami = make_ami(fleet[0], "web")
    rid = rollout_id_of(bakery.command(APPROVER, f"rollout web-prod {ami}"))
    message = bakery.wait(lambda: rollout_message(bakery, rid), what="the rollout message")
    assert "rollout_approve" in blocks(message) and "Who may approve" in blocks(message)
    bakery.click(APPROVER, message, "rollout_approve")
    assert "someone else must approve" in bakery.wait_ephemeral(APPROVER, "four-eyes")
    bakery.click(OUTSIDER, message, "rollout_approve")
    assert "access.approvers" in bakery.wait_ephemeral(OUTSIDER, "not allowed")
    assert not fleet[1].describe_instance_refreshes(AutoScalingGroupName="web-prod")["InstanceRefreshes"]
    bakery.click(SECOND_APPROVER, message, "rollout_approve")
    bakery.wait(lambda: (r := bakery.services.rollouts.get(rid)) and r.refresh_id, what="the refresh")
    assert bakery.services.rollouts.get(rid).approved_by == SECOND_APPROVER
    status = bakery.command(OUTSIDER, f"status {rid}")["text"]
    assert f"<@{SECOND_APPROVER}> approve: approved" in status and "launch template version 2 (was 1)" in status
    assert rid in bakery.command(OUTSIDER, "status")["text"]


def test_cancel_stops_the_refresh_and_frees_the_target(bakery, fleet):
    ami = make_ami(fleet[0], "base")
    rid = rollout_id_of(bakery.command(APPROVER, f"rollout base-canary {ami}"))
    message = bakery.wait(
        lambda: (m := rollout_message(bakery, rid)) and "rollout_cancel" in blocks(m) and m, what="buttons"
    )
    bakery.click(OUTSIDER, message, "rollout_cancel")
    assert "access.deployers" in bakery.wait_ephemeral(OUTSIDER, "not allowed")
    bakery.click(SECOND_APPROVER, message, "rollout_cancel")
    bakery.wait_ephemeral(SECOND_APPROVER, "Cancelling")
    bakery.wait(
        lambda: (
            fleet[1].describe_instance_refreshes(AutoScalingGroupName="base-canary")["InstanceRefreshes"][0]["Status"]
            == "Cancelling"
        ),
        what="Auto Scaling cancelling",
    )
    bakery.refresh_clock.advance(REFRESH_SECONDS)
    assert "cancelled" in blocks(wait_status(bakery, rid, "cancelled"))
    assert "Rollout `r-" in bakery.command(APPROVER, f"rollout base-canary {ami}")["text"]


def test_rollback_returns_the_group_to_the_previous_version(bakery, fleet):
    ami = make_ami(fleet[0], "base")
    rid = rollout_id_of(bakery.command(APPROVER, f"rollout base-canary {ami}"))
    bakery.wait(lambda: bakery.services.rollouts.get(rid).refresh_id, what="the refresh")
    bakery.refresh_clock.advance(REFRESH_SECONDS * 0.4)
    message = bakery.wait(
        lambda: (m := rollout_message(bakery, rid)) and "rollout_rollback" in blocks(m) and m, what="buttons"
    )
    bakery.click(SECOND_APPROVER, message, "rollout_rollback")
    bakery.wait_ephemeral(SECOND_APPROVER, "Rolling back")
    bakery.wait(lambda: bakery.services.rollouts.get(rid).refresh_status == "RollbackInProgress", what="rolling back")
    bakery.refresh_clock.advance(REFRESH_SECONDS)
    assert "rolled back" in blocks(wait_status(bakery, rid, "rolled_back"))
    template = fleet[0].describe_launch_templates(LaunchTemplateNames=["base-canary"])["LaunchTemplates"][0]
    assert template["DefaultVersionNumber"] == 1


def test_a_refresh_already_running_is_reported_not_retried(bakery, fleet):
    ec2, autoscaling = fleet
    template = ec2.describe_launch_templates(LaunchTemplateNames=["base-canary"])["LaunchTemplates"][0]
    autoscaling.start_instance_refresh(
        AutoScalingGroupName="base-canary",
        DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateId": template["LaunchTemplateId"], "Version": "1"}},
    )
    ami = make_ami(ec2, "base")
    rid = rollout_id_of(bakery.command(APPROVER, f"rollout base-canary {ami}"))
    message = wait_status(bakery, rid, "error")
    assert "already has an instance refresh running" in blocks(message)
    assert len(autoscaling.describe_instance_refreshes(AutoScalingGroupName="base-canary")["InstanceRefreshes"]) == 1
    assert "is free" in json.dumps(bakery.messages())


def test_a_successful_bake_offers_a_rollout_button_that_rolls_out_in_its_thread(bakery, fleet):
    answer = bakery.command(REQUESTER, "base")
    request_id = answer["text"].split("`")[1]
    commit = bakery.commit_of(request_id)
    ami = make_ami(fleet[0], "base", request_id)
    bakery.run_pipeline("base", commit, request_id=request_id, amis=[(REGION, ami)])
    message = bakery.wait(
        lambda: (m := bakery.bake_message(request_id)) and "rollout_start" in blocks(m) and m, what="the button"
    )
    assert "Roll out to base-canary" in blocks(message)
    bakery.click(REQUESTER, message, "rollout_start")
    assert "access.deployers" in bakery.wait_ephemeral(REQUESTER, "not allowed")
    bakery.click(APPROVER, message, "rollout_start")
    rollout = bakery.wait(lambda: bakery.services.rollouts.active(), what="the rollout")[0]
    assert rollout.ami_id == ami and rollout.request_id == request_id
    in_thread = bakery.wait(lambda: rollout_message(bakery, rollout.rollout_id), what="the rollout message")
    assert in_thread["thread_ts"] == message["ts"]
    # The bake's message follows its rollout: pointed to while it runs, then what the target runs.
    bakery.wait(
        lambda: f"Rollout `{rollout.rollout_id}` to *base-canary*" in blocks(bakery.bake_message(request_id)),
        what="the bake's message pointing to its rollout",
    )
    assert "Roll out to base-canary" not in blocks(bakery.bake_message(request_id))
    # And `/bake rollout base-canary` with no AMI now means this bake's.
    bakery.wait(lambda: bakery.services.rollouts.get(rollout.rollout_id).refresh_id, what="the refresh")
    bakery.refresh_clock.advance(REFRESH_SECONDS * 2)
    wait_status(bakery, rollout.rollout_id, "succeeded")
    shown = bakery.wait(
        lambda: "*base-canary* runs this AMI since" in (b := blocks(bakery.bake_message(request_id))) and b,
        what="the bake's message saying base-canary runs its AMI",
    )
    assert "Roll out to base-canary" not in shown and "rollout_start" not in shown
    assert ami in bakery.command(APPROVER, "rollout base-canary")["text"]


def released_bake_rolled_out(bakery, fleet, reason: str) -> tuple[str, str]:
    """A bake of base released with an AMI, rolled out to base-canary to the end; (request id, AMI)."""
    request_id = bakery.command(REQUESTER, f"base {reason}")["text"].split("`")[1]
    ami = make_ami(fleet[0], "base", request_id)
    bakery.run_pipeline("base", bakery.commit_of(request_id), request_id=request_id, amis=[(REGION, ami)])
    message = bakery.wait(
        lambda: (m := bakery.bake_message(request_id)) and "rollout_start" in blocks(m) and m, what="the button"
    )
    clicked = bakery.click(APPROVER, message, "rollout_start")
    rollout = bakery.wait(
        lambda: bakery.services.rollouts.active(),
        what="the rollout",
        explain=lambda: (
            f"the click's answer: {clicked}; private answers to {APPROVER}: {bakery.ephemerals(APPROVER)}; "
            f"response_url posts: {[c.args for c in bakery.slack.calls('response_url')][-3:]}"
        ),
    )[0]
    bakery.wait(lambda: bakery.services.rollouts.get(rollout.rollout_id).refresh_id, what="the refresh")
    bakery.refresh_clock.advance(REFRESH_SECONDS * 2)
    wait_status(bakery, rollout.rollout_id, "succeeded")
    return request_id, ami


def test_a_bake_whose_ami_a_later_rollout_replaced_stops_saying_its_target_runs_it(bakery, fleet):
    first, _ = released_bake_rolled_out(bakery, fleet, "first")
    bakery.wait(lambda: "*base-canary* runs this AMI" in blocks(bakery.bake_message(first)), what="first runs")
    second, ami = released_bake_rolled_out(bakery, fleet, "second")
    bakery.wait(lambda: "*base-canary* runs this AMI" in blocks(bakery.bake_message(second)), what="second runs")
    shown = bakery.wait(
        lambda: f"it runs `{ami}` now" in (b := blocks(bakery.bake_message(first))) and b,
        what="the first bake's message saying base-canary moved on",
    )
    assert "runs this AMI" not in shown and "Roll out to base-canary" in shown  # it may go back to it


def test_a_failing_refresh_rolls_back_by_itself_and_says_why(bakery, fleet):
    bakery.autoscaling.fail_next_refresh("Instances failed to pass their ELB health checks.")
    ami = make_ami(fleet[0], "base")
    rid = rollout_id_of(bakery.command(APPROVER, f"rollout base-canary {ami}"))
    bakery.wait(lambda: bakery.services.rollouts.get(rid).refresh_id, what="the refresh")
    bakery.refresh_clock.advance(REFRESH_SECONDS * 0.6)
    bakery.wait(lambda: bakery.services.rollouts.get(rid).status == "rolling_back", what="the automatic rollback")
    bakery.refresh_clock.advance(REFRESH_SECONDS)
    message = wait_status(bakery, rid, "rolled_back")
    assert "ELB health checks" in blocks(message)
    assert "ELB health checks" in json.dumps([m for m in bakery.messages() if m.get("thread_ts")])


def test_two_approvers_approving_a_rollout_at_once_start_it_once(bakery, fleet):
    import threading

    ami = make_ami(fleet[0], "web")
    # Before the first lookup: the bot caches group membership for five minutes.
    bakery.slack.set_usergroup("S0PLATFORM", [APPROVER, SECOND_APPROVER, "U0DAVE"])
    rid = rollout_id_of(bakery.command(APPROVER, f"rollout web-prod {ami}"))
    message = bakery.wait(lambda: rollout_message(bakery, rid), what="the rollout message")
    users = [SECOND_APPROVER, "U0DAVE", SECOND_APPROVER]
    threads = [threading.Thread(target=bakery.click, args=(u, message, "rollout_approve")) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bakery.wait(lambda: bakery.services.rollouts.get(rid).refresh_id, what="the refresh")
    refreshes = fleet[1].describe_instance_refreshes(AutoScalingGroupName="web-prod")["InstanceRefreshes"]
    versions = fleet[0].describe_launch_template_versions(LaunchTemplateName="web-prod")["LaunchTemplateVersions"]
    assert len(refreshes) == 1 and len(versions) == 2

    def refused() -> int:
        told = bakery.ephemerals(SECOND_APPROVER) + bakery.ephemerals("U0DAVE")
        return sum("no longer waiting for approval" in t for t in told)

    bakery.wait(lambda: refused() == 2, what="both losers told")
    assert refused() == 2 and len(bakery.slack.calls("chat.postEphemeral")) == 3


def test_an_ami_that_is_not_available_is_refused(bakery, fleet):
    ec2 = fleet[0]
    ami = make_ami(ec2, "base")
    ec2.deregister_image(ImageId=ami)
    assert f"There is no AMI `{ami}`" in bakery.command(APPROVER, f"rollout base-canary {ami}")["text"]


@pytest.mark.parametrize("backend", ["sqlite", "dynamodb"])
def test_a_rollout_carries_on_after_a_restart(bakery_factory, backend):
    bakery = bakery_factory(backend=backend)
    fleet = make_fleet()
    ami = make_ami(fleet[0], "base")
    rid = rollout_id_of(bakery.command(APPROVER, f"rollout base-canary {ami}"))
    bakery.wait(lambda: (r := bakery.services.rollouts.get(rid)) and r.refresh_id, what="the refresh")
    bakery_factory.stop(bakery)
    bakery.refresh_clock.advance(REFRESH_SECONDS * 2)
    again = bakery_factory(backend=backend)
    assert "succeeded" in blocks(wait_status(again, rid, "succeeded"))
    template = fleet[0].describe_launch_templates(LaunchTemplateNames=["base-canary"])["LaunchTemplates"][0]
    assert template["DefaultVersionNumber"] == 2
