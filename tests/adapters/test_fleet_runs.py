"""Fleet.runs_of (§14): what each group runs, against moto: the default version's AMI, its instances' AMIs with
their counts (two during a refresh), groups that do not exist left out, and few calls for many groups."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from bot.adapters.aws.autoscaling import Fleet

AMI_OLD = "ami-0aaaaaaaaaaaaaaaa"
AMI_NEW = "ami-0bbbbbbbbbbbbbbbb"


@pytest.fixture
def ec2(moto: str):
    return boto3.client("ec2", region_name="eu-west-1")


@pytest.fixture
def autoscaling(moto: str):
    return boto3.client("autoscaling", region_name="eu-west-1")


def group(ec2, autoscaling, name: str, *, ami: str = AMI_OLD, size: int = 2) -> str:
    template = ec2.create_launch_template(LaunchTemplateName=name, LaunchTemplateData={"ImageId": ami})
    template_id = template["LaunchTemplate"]["LaunchTemplateId"]
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=name,
        MinSize=size,
        MaxSize=size,
        DesiredCapacity=size,
        AvailabilityZones=["eu-west-1a"],
        LaunchTemplate={"LaunchTemplateId": template_id, "Version": "$Default"},
    )
    return template_id


def test_a_group_shows_its_default_versions_ami_and_its_instances_amis_with_counts(ec2, autoscaling):
    template_id = group(ec2, autoscaling, "web-prod", size=2)
    # A refresh under way: the default version names the new AMI, and one instance launched from it so far.
    version = ec2.create_launch_template_version(
        LaunchTemplateId=template_id, SourceVersion="1", LaunchTemplateData={"ImageId": AMI_NEW}
    )["LaunchTemplateVersion"]["VersionNumber"]
    ec2.modify_launch_template(LaunchTemplateId=template_id, DefaultVersion=str(version))
    autoscaling.update_auto_scaling_group(AutoScalingGroupName="web-prod", MaxSize=3, DesiredCapacity=3)

    runs = Fleet(ec2, autoscaling).runs_of(["web-prod"])["web-prod"]

    assert (runs.template_id, runs.default_version, runs.default_ami) == (template_id, 2, AMI_NEW)
    assert runs.instances == {AMI_OLD: 2, AMI_NEW: 1}


def test_instances_terminated_or_shutting_down_are_not_counted():
    # Auto Scaling still lists an instance it is terminating; EC2 says which are gone (Stubber: moto replaces them).
    ec2 = boto3.client("ec2", region_name="eu-west-1")
    autoscaling = boto3.client("autoscaling", region_name="eu-west-1")
    members = [
        {
            "InstanceId": f"i-0{n}{'0' * 15}",
            "AvailabilityZone": "eu-west-1a",
            "LifecycleState": "InService",
            "HealthStatus": "Healthy",
            "ProtectedFromScaleIn": False,
        }
        for n in range(3)
    ]
    states = ["running", "terminated", "shutting-down"]
    with Stubber(ec2) as ec2_stub, Stubber(autoscaling) as asg_stub:
        asg_stub.add_response(
            "describe_auto_scaling_groups",
            {
                "AutoScalingGroups": [
                    {
                        "AutoScalingGroupName": "web-prod",
                        "MinSize": 1,
                        "MaxSize": 3,
                        "DesiredCapacity": 3,
                        "DefaultCooldown": 300,
                        "AvailabilityZones": ["eu-west-1a"],
                        "HealthCheckType": "EC2",
                        "CreatedTime": "2026-12-01T00:00:00Z",
                        "LaunchTemplate": {"LaunchTemplateId": "lt-0123456789abcdef0", "Version": "$Default"},
                        "Instances": members,
                    }
                ]
            },
            {"AutoScalingGroupNames": ["web-prod"]},
        )
        ec2_stub.add_response(
            "describe_instances",
            {
                "Reservations": [
                    {
                        "Instances": [
                            {"InstanceId": m["InstanceId"], "ImageId": AMI_OLD, "State": {"Name": state}}
                            for m, state in zip(members, states, strict=True)
                        ]
                    }
                ]
            },
            {"InstanceIds": [m["InstanceId"] for m in members]},
        )
        ec2_stub.add_response(
            "describe_launch_template_versions",
            {
                "LaunchTemplateVersions": [
                    {
                        "LaunchTemplateId": "lt-0123456789abcdef0",
                        "VersionNumber": 4,
                        "LaunchTemplateData": {"ImageId": AMI_NEW},
                    }
                ]
            },
            {"LaunchTemplateId": "lt-0123456789abcdef0", "Versions": ["$Default"]},
        )

        runs = Fleet(ec2, autoscaling).runs_of(["web-prod"])["web-prod"]

    assert (runs.default_version, runs.default_ami, runs.instances) == (4, AMI_NEW, {AMI_OLD: 1})


def test_a_group_that_does_not_exist_is_left_out(ec2, autoscaling):
    group(ec2, autoscaling, "web-prod")

    assert set(Fleet(ec2, autoscaling).runs_of(["web-prod", "nowhere"])) == {"web-prod"}


def test_a_group_whose_launch_template_is_gone_shows_no_default_ami(ec2, autoscaling):
    template_id = group(ec2, autoscaling, "web-prod", size=0)
    ec2.delete_launch_template(LaunchTemplateId=template_id)

    runs = Fleet(ec2, autoscaling).runs_of(["web-prod"])["web-prod"]

    assert (runs.default_ami, runs.instances) == (None, {})


def test_many_groups_cost_a_call_per_hundred_groups_and_one_for_every_templates_default(ec2, autoscaling):
    templates = {f"g{n}": group(ec2, autoscaling, f"g{n}", size=1) for n in range(3)}
    # One template's default moved on, and an unrelated template's default names yet another AMI.
    ec2.create_launch_template_version(
        LaunchTemplateId=templates["g1"], SourceVersion="1", LaunchTemplateData={"ImageId": AMI_NEW}
    )
    ec2.modify_launch_template(LaunchTemplateId=templates["g1"], DefaultVersion="2")
    ec2.create_launch_template(LaunchTemplateName="other", LaunchTemplateData={"ImageId": "ami-0cccccccccccccccc"})
    calls: list[str] = []
    for client in (ec2, autoscaling):
        client.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))

    runs = Fleet(ec2, autoscaling).runs_of(["g0", "g1", "g2"])

    assert {name: r.instances for name, r in runs.items()} == {f"g{n}": {AMI_OLD: 1} for n in range(3)}
    assert {name: (r.template_id, r.default_version, r.default_ami) for name, r in runs.items()} == {
        "g0": (templates["g0"], 1, AMI_OLD),
        "g1": (templates["g1"], 2, AMI_NEW),
        "g2": (templates["g2"], 1, AMI_OLD),
    }
    assert sorted(calls) == sorted(
        ["DescribeAutoScalingGroups", "DescribeInstances", "DescribeLaunchTemplateVersions"]
    )
