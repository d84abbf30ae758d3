"""FakeAutoScaling: a plain boto3 client manages groups (via moto) and instance refreshes through one endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from bot.adapters.aws.autoscaling import Fleet
from bot.sandbox.aws.fake_autoscaling import FakeAutoScaling
from tests.fixtures.waiting import wait_for

GROUP = "web-asg"
DURATION = 10.0  # seconds of the fake's clock; tests move that clock instead of sleeping


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(moto: str, clock: Clock) -> Iterator[FakeAutoScaling]:
    with FakeAutoScaling(moto, duration=DURATION, clock=clock) as server:
        yield server


@pytest.fixture
def autoscaling(fake: FakeAutoScaling):
    # Explicit endpoint: the suite's AWS_ENDPOINT_URL points at moto itself.
    return boto3.client("autoscaling", region_name="eu-west-1", endpoint_url=fake.endpoint)


@pytest.fixture
def ec2(moto: str):
    # The default session caches the service models; a fresh Session per test would reload EC2's (~0.4 s).
    return boto3.client("ec2", region_name="eu-west-1")


@pytest.fixture
def template_id(ec2) -> str:
    answer = ec2.create_launch_template(
        LaunchTemplateName="web", LaunchTemplateData={"ImageId": "ami-11111111", "InstanceType": "t3.micro"}
    )
    return answer["LaunchTemplate"]["LaunchTemplateId"]


@pytest.fixture
def group(autoscaling, template_id) -> str:
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=GROUP,
        LaunchTemplate={"LaunchTemplateId": template_id, "Version": "1"},
        MinSize=4,
        MaxSize=4,
        DesiredCapacity=4,
        AvailabilityZones=["eu-west-1a"],
    )
    return GROUP


def start(autoscaling, template_id: str, version: str = "1", **preferences) -> str:
    return autoscaling.start_instance_refresh(
        AutoScalingGroupName=GROUP,
        Strategy="Rolling",
        DesiredConfiguration={"LaunchTemplate": {"LaunchTemplateId": template_id, "Version": version}},
        Preferences={"MinHealthyPercentage": 90, "InstanceWarmup": 60, **preferences},
    )["InstanceRefreshId"]


def refresh(autoscaling, refresh_id: str) -> dict:
    answer = autoscaling.describe_instance_refreshes(AutoScalingGroupName=GROUP, InstanceRefreshIds=[refresh_id])
    return answer["InstanceRefreshes"][0]


def code_of(exc_info) -> str:
    return exc_info.value.response["Error"]["Code"]


def test_other_actions_are_answered_by_moto_unchanged(autoscaling, group, template_id):
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])["AutoScalingGroups"]

    assert groups[0]["LaunchTemplate"] == {"LaunchTemplateId": template_id, "LaunchTemplateName": "web", "Version": "1"}
    assert len(groups[0]["Instances"]) == 4


def test_a_refresh_goes_pending_in_progress_successful_and_moves_the_group_to_its_version(
    ec2, autoscaling, group, template_id, clock
):
    ec2.create_launch_template_version(
        LaunchTemplateId=template_id, SourceVersion="1", LaunchTemplateData={"ImageId": "ami-22222222"}
    )
    refresh_id = start(autoscaling, template_id, version="2", CheckpointPercentages=[50, 100], SkipMatching=True)
    seen = [refresh(autoscaling, refresh_id)]
    for _ in range(5):
        clock.advance(DURATION / 4)
        seen.append(refresh(autoscaling, refresh_id))

    assert [r["Status"] for r in seen] == [
        "Pending",
        "InProgress",
        "InProgress",
        "InProgress",
        "Successful",
        "Successful",
    ]
    assert [r["PercentageComplete"] for r in seen] == [0, 16, 44, 72, 100, 100]
    assert [r["InstancesToUpdate"] for r in seen] == [4, 4, 3, 2, 0, 0]
    done = seen[-1]
    assert done["EndTime"] > done["StartTime"]
    assert done["Preferences"]["CheckpointPercentages"] == [50, 100]
    assert done["Preferences"]["SkipMatching"] is True
    assert done["DesiredConfiguration"]["LaunchTemplate"]["Version"] == "2"
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])["AutoScalingGroups"]
    assert groups[0]["LaunchTemplate"]["Version"] == "2"


def instance_amis(autoscaling, ec2) -> list[str]:
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])["AutoScalingGroups"][0]
    ids = [i["InstanceId"] for i in group["Instances"]]
    reservations = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    return sorted(i["ImageId"] for r in reservations for i in r["Instances"] if i["State"]["Name"] != "terminated")


def test_a_successful_refresh_replaces_the_instances_with_ones_of_the_new_version(
    ec2, autoscaling, group, template_id, clock
):
    # /bake fleet counts the instances' AMIs: after a rollout that succeeded, none may still run the old one.
    ec2.create_launch_template_version(
        LaunchTemplateId=template_id, SourceVersion="1", LaunchTemplateData={"ImageId": "ami-22222222"}
    )
    refresh_id = start(autoscaling, template_id, version="2")
    clock.advance(DURATION / 2)
    assert refresh(autoscaling, refresh_id)["Status"] == "InProgress"
    assert instance_amis(autoscaling, ec2) == ["ami-11111111"] * 4

    clock.advance(DURATION)
    assert refresh(autoscaling, refresh_id)["Status"] == "Successful"
    assert instance_amis(autoscaling, ec2) == ["ami-22222222"] * 4


def test_a_second_refresh_while_one_is_active_is_refused(autoscaling, group, template_id):
    start(autoscaling, template_id)

    with pytest.raises(ClientError) as exc_info:
        start(autoscaling, template_id)

    assert code_of(exc_info) == "InstanceRefreshInProgress"
    assert isinstance(exc_info.value, autoscaling.exceptions.InstanceRefreshInProgressFault)


def test_a_new_refresh_may_start_once_the_last_one_finished(autoscaling, group, template_id, clock):
    first = start(autoscaling, template_id)
    clock.advance(DURATION)

    second = start(autoscaling, template_id)

    listed = autoscaling.describe_instance_refreshes(AutoScalingGroupName=GROUP)["InstanceRefreshes"]
    assert [r["InstanceRefreshId"] for r in listed] == [second, first]  # newest first, as AWS lists them


def test_a_refresh_of_an_unknown_group_is_a_validation_error(autoscaling, template_id):
    with pytest.raises(ClientError) as exc_info:
        start(autoscaling, template_id)

    assert code_of(exc_info) == "ValidationError"


def test_cancelling_goes_through_cancelling_to_cancelled(autoscaling, group, template_id, clock):
    refresh_id = start(autoscaling, template_id)
    clock.advance(DURATION / 2)

    assert autoscaling.cancel_instance_refresh(AutoScalingGroupName=GROUP)["InstanceRefreshId"] == refresh_id
    assert refresh(autoscaling, refresh_id)["Status"] == "Cancelling"
    clock.advance(DURATION)
    assert refresh(autoscaling, refresh_id)["Status"] == "Cancelled"


def test_cancelling_with_no_active_refresh_is_active_refresh_not_found(autoscaling, group):
    with pytest.raises(ClientError) as exc_info:
        autoscaling.cancel_instance_refresh(AutoScalingGroupName=GROUP)

    assert code_of(exc_info) == "ActiveInstanceRefreshNotFound"


def test_a_rollback_undoes_the_replacements_made_so_far(autoscaling, group, template_id, clock):
    refresh_id = start(autoscaling, template_id)
    clock.advance(DURATION * 0.55)  # 50 % through InProgress

    autoscaling.rollback_instance_refresh(AutoScalingGroupName=GROUP)
    rolling_back = refresh(autoscaling, refresh_id)
    clock.advance(DURATION)
    rolled_back = refresh(autoscaling, refresh_id)

    assert rolling_back["Status"] == "RollbackInProgress"
    assert rolling_back["RollbackDetails"]["PercentageCompleteOnRollback"] == 50
    assert rolled_back["Status"] == "RollbackSuccessful"
    assert rolled_back["EndTime"] > rolled_back["StartTime"]


def test_a_refresh_to_latest_cannot_be_rolled_back(autoscaling, group, template_id):
    start(autoscaling, template_id, version="$Latest")

    with pytest.raises(ClientError) as exc_info:
        autoscaling.rollback_instance_refresh(AutoScalingGroupName=GROUP)

    assert code_of(exc_info) == "IrreversibleInstanceRefresh"


def test_a_failing_refresh_fails_halfway_with_its_reason(fake, autoscaling, group, template_id, clock):
    fake.fail_next_refresh("Instance i-1 failed its ELB health check.")
    refresh_id = start(autoscaling, template_id)
    clock.advance(DURATION)

    failed = refresh(autoscaling, refresh_id)

    assert (failed["Status"], failed["StatusReason"]) == ("Failed", "Instance i-1 failed its ELB health check.")
    assert failed["PercentageComplete"] == 50
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])["AutoScalingGroups"]
    assert groups[0]["LaunchTemplate"]["Version"] == "1"


def test_a_failing_refresh_with_auto_rollback_rolls_back(fake, autoscaling, group, template_id, clock):
    fake.fail_next_refresh("Health checks failed.")
    refresh_id = start(autoscaling, template_id, AutoRollback=True)
    clock.advance(DURATION * 2)

    rolled_back = refresh(autoscaling, refresh_id)

    assert rolled_back["Status"] == "RollbackSuccessful"
    assert rolled_back["RollbackDetails"]["RollbackReason"] == "Health checks failed."


def test_the_fleet_adapter_follows_a_refresh_in_real_time(moto, ec2, template_id):
    with FakeAutoScaling(moto, duration=0.4) as fake:
        autoscaling = boto3.client("autoscaling", region_name="eu-west-1", endpoint_url=fake.endpoint)
        fleet = Fleet(ec2, autoscaling)
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=GROUP,
            LaunchTemplate={"LaunchTemplateId": template_id, "Version": "1"},
            MinSize=1,
            MaxSize=1,
            AvailabilityZones=["eu-west-1a"],
        )
        version = fleet.new_version_with_image(
            template_id=template_id, ami_id="ami-22222222", source_version=1, description="bake"
        )
        refresh_id = fleet.start_refresh(
            group=GROUP, template_id=template_id, version=version, min_healthy_percentage=90, instance_warmup=0
        )
        status = wait_for(
            lambda: (s := fleet.describe_refresh(group=GROUP, refresh_id=refresh_id)) and not s.active and s,
            timeout=5,
            what="the refresh to end",
        )
        template = fleet.launch_template_of(GROUP)

    assert status.status == "Successful"
    assert template.latest_version == version
