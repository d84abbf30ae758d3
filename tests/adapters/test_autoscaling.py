"""Fleet: the exact refresh requests (Stubber), and launch template versions against moto."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from bot.adapters.aws.autoscaling import Fleet
from bot.domain.errors import FleetError, IrreversibleRefresh, NoActiveRefresh, RefreshInProgress
from bot.domain.ports import LaunchTemplateRef

GROUP = "web-asg"
TEMPLATE = "lt-0123456789abcdef0"
REFRESH = "08b91cf7-8fa6-48af-b6a6-d227f40f1b9b"


# --- the requests, checked against the service model by Stubber ---------------------------------------


@pytest.fixture
def stubbed() -> Iterator[tuple[Fleet, Stubber]]:
    ec2 = boto3.client("ec2", region_name="eu-west-1")
    autoscaling = boto3.client("autoscaling", region_name="eu-west-1")
    with Stubber(autoscaling) as stubber:
        yield Fleet(ec2, autoscaling), stubber
        stubber.assert_no_pending_responses()


def test_a_refresh_pins_the_version_number_and_sets_every_preference_whose_default_varies(stubbed):
    fleet, stubber = stubbed
    stubber.add_response(
        "start_instance_refresh",
        {"InstanceRefreshId": REFRESH},
        {
            "AutoScalingGroupName": GROUP,
            "Strategy": "Rolling",
            "DesiredConfiguration": {"LaunchTemplate": {"LaunchTemplateId": TEMPLATE, "Version": "7"}},
            "Preferences": {
                "MinHealthyPercentage": 90,
                "InstanceWarmup": 120,
                "SkipMatching": True,
                "AutoRollback": True,
                "ScaleInProtectedInstances": "Wait",
                "StandbyInstances": "Wait",
            },
        },
    )

    assert (
        fleet.start_refresh(
            group=GROUP, template_id=TEMPLATE, version=7, min_healthy_percentage=90, instance_warmup=120
        )
        == REFRESH
    )


def test_max_healthy_and_checkpoints_are_sent_only_when_asked_for(stubbed):
    fleet, stubber = stubbed
    stubber.add_response(
        "start_instance_refresh",
        {"InstanceRefreshId": REFRESH},
        {
            "AutoScalingGroupName": GROUP,
            "Strategy": "Rolling",
            "DesiredConfiguration": {"LaunchTemplate": {"LaunchTemplateId": TEMPLATE, "Version": "3"}},
            "Preferences": {
                "MinHealthyPercentage": 100,
                "MaxHealthyPercentage": 150,
                "InstanceWarmup": 60,
                "CheckpointPercentages": [25, 100],
                "SkipMatching": True,
                "AutoRollback": True,
                "ScaleInProtectedInstances": "Wait",
                "StandbyInstances": "Wait",
            },
        },
    )

    fleet.start_refresh(
        group=GROUP,
        template_id=TEMPLATE,
        version=3,
        min_healthy_percentage=100,
        instance_warmup=60,
        max_healthy_percentage=150,
        checkpoint_percentages=[25, 100],
    )


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("InstanceRefreshInProgress", RefreshInProgress),
        ("LimitExceeded", FleetError),
    ],
)
def test_a_refused_start_is_a_domain_error_that_names_the_group(stubbed, code, kind):
    fleet, stubber = stubbed
    stubber.add_client_error("start_instance_refresh", service_error_code=code, service_message="nope")

    with pytest.raises(kind, match=f"start an instance refresh of Auto Scaling group {GROUP}: nope \\({code}\\)"):
        fleet.start_refresh(group=GROUP, template_id=TEMPLATE, version=3, min_healthy_percentage=90, instance_warmup=60)


def test_cancelling_without_an_active_refresh_is_no_active_refresh(stubbed):
    fleet, stubber = stubbed
    stubber.add_client_error("cancel_instance_refresh", service_error_code="ActiveInstanceRefreshNotFound")

    with pytest.raises(NoActiveRefresh):
        fleet.cancel_refresh(GROUP)


def test_rolling_back_a_refresh_to_latest_is_irreversible(stubbed):
    fleet, stubber = stubbed
    stubber.add_client_error(
        "rollback_instance_refresh", service_error_code="IrreversibleInstanceRefresh", expected_params=None
    )

    with pytest.raises(IrreversibleRefresh):
        fleet.rollback_refresh(GROUP)


def test_a_new_version_is_built_on_its_source_version_with_only_the_image_set():
    ec2 = boto3.client("ec2", region_name="eu-west-1")
    with Stubber(ec2) as stubber:
        stubber.add_response(
            "create_launch_template_version",
            {"LaunchTemplateVersion": {"VersionNumber": 8}},
            {
                "LaunchTemplateId": TEMPLATE,
                "SourceVersion": "7",
                "VersionDescription": "bake r-1",
                "LaunchTemplateData": {"ImageId": "ami-22222222"},
            },
        )

        version = Fleet(ec2, boto3.client("autoscaling", region_name="eu-west-1")).new_version_with_image(
            template_id=TEMPLATE, ami_id="ami-22222222", source_version=7, description="bake r-1"
        )

    assert version == 8


def test_a_refresh_is_described_by_its_id(stubbed):
    fleet, stubber = stubbed
    stubber.add_response(
        "describe_instance_refreshes",
        {
            "InstanceRefreshes": [
                {
                    "InstanceRefreshId": REFRESH,
                    "Status": "InProgress",
                    "PercentageComplete": 40,
                    "InstancesToUpdate": 3,
                }
            ]
        },
        {"AutoScalingGroupName": GROUP, "InstanceRefreshIds": [REFRESH]},
    )

    status = fleet.describe_refresh(group=GROUP, refresh_id=REFRESH)

    assert (status.status, status.percentage, status.instances_to_update, status.active) == ("InProgress", 40, 3, True)
    assert status.status_reason == "" and status.end_time is None


# --- launch templates against moto ---------------------------------------------------------------------


@pytest.fixture
def ec2(moto: str):
    # The default session caches the service models; a fresh Session per test would reload EC2's (~0.4 s).
    return boto3.client("ec2", region_name="eu-west-1")


@pytest.fixture
def autoscaling(moto: str):
    return boto3.client("autoscaling", region_name="eu-west-1")


@pytest.fixture
def fleet(ec2, autoscaling) -> Fleet:
    return Fleet(ec2, autoscaling)


def make_template(ec2, name: str = "web") -> str:
    answer = ec2.create_launch_template(
        LaunchTemplateName=name, LaunchTemplateData={"ImageId": "ami-11111111", "InstanceType": "t3.micro"}
    )
    return answer["LaunchTemplate"]["LaunchTemplateId"]


def make_group(autoscaling, **launch: object) -> None:
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=GROUP, MinSize=1, MaxSize=2, AvailabilityZones=["eu-west-1a"], **launch
    )


def test_the_launch_template_of_a_group_comes_with_its_default_and_latest_versions(ec2, autoscaling, fleet):
    template_id = make_template(ec2)
    make_group(autoscaling, LaunchTemplate={"LaunchTemplateId": template_id, "Version": "1"})
    fleet.new_version_with_image(template_id=template_id, ami_id="ami-22222222", source_version=1, description="bake 1")

    assert fleet.launch_template_of(GROUP) == LaunchTemplateRef(template_id, "web", default_version=1, latest_version=2)


def test_a_mixed_instances_group_is_read_through_its_policy(ec2, autoscaling, fleet):
    template_id = make_template(ec2)
    policy = {"LaunchTemplate": {"LaunchTemplateSpecification": {"LaunchTemplateName": "web", "Version": "1"}}}
    make_group(autoscaling, MixedInstancesPolicy=policy)

    assert fleet.launch_template_of(GROUP).id == template_id


def test_a_group_on_a_launch_configuration_is_a_clear_error(ec2, autoscaling, fleet):
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="old", ImageId="ami-11111111", InstanceType="t3.micro"
    )
    make_group(autoscaling, LaunchConfigurationName="old")

    with pytest.raises(FleetError, match="does not launch from a launch template"):
        fleet.launch_template_of(GROUP)


def test_an_unknown_group_is_a_fleet_error(fleet):
    with pytest.raises(FleetError, match="Could not find Auto Scaling group web-asg"):
        fleet.launch_template_of(GROUP)


def test_a_new_version_changes_only_the_image_of_its_source(ec2, autoscaling, fleet):
    template_id = make_template(ec2)

    version = fleet.new_version_with_image(
        template_id=template_id, ami_id="ami-22222222", source_version=1, description="bake r-1"
    )

    data = ec2.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=[str(version)])
    created = data["LaunchTemplateVersions"][0]
    assert version == 2
    assert created["VersionDescription"] == "bake r-1"
    assert created["LaunchTemplateData"]["ImageId"] == "ami-22222222"
    # moto does not merge SourceVersion's data into the new version; the Stubber test checks that it is sent.


def test_setting_the_default_version(ec2, autoscaling, fleet):
    template_id = make_template(ec2)
    make_group(autoscaling, LaunchTemplate={"LaunchTemplateId": template_id, "Version": "1"})
    version = fleet.new_version_with_image(
        template_id=template_id, ami_id="ami-22222222", source_version=1, description="bake"
    )

    fleet.set_default_version(template_id=template_id, version=version)

    assert fleet.launch_template_of(GROUP).default_version == 2


def test_a_version_of_an_unknown_template_is_a_fleet_error_naming_it(fleet):
    with pytest.raises(FleetError, match="lt-00000000000000000 with ami-22222222"):
        fleet.new_version_with_image(
            template_id="lt-00000000000000000", ami_id="ami-22222222", source_version=1, description="x"
        )
