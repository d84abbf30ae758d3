"""The stand-ins serve each caller in its own account (§13), as moto does: an assumed role's keys act in the role's
account, and a member account's pipelines, repositories and groups are that account's alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from bot.sandbox.aws.fake_autoscaling import FakeAutoScaling
from bot.sandbox.aws.fake_codecommit import FakeCodeCommit
from bot.sandbox.aws.fake_codepipeline import FakeCodePipeline
from bot.sandbox.aws.wire import AccountSession
from tests.fixtures.aws import ACCOUNT, REGION, new_session

MEMBER = "210987654321"
ROLE = f"arn:aws:iam::{MEMBER}:role/ami-bakery-bot"


@pytest.fixture
def member_keys(aws_session) -> dict[str, str]:
    """Credentials from moto's STS for the member role: they act in the member account."""
    found = aws_session.client("sts").assume_role(RoleArn=ROLE, RoleSessionName="ami-bakery-web")["Credentials"]
    return {
        "aws_access_key_id": found["AccessKeyId"],
        "aws_secret_access_key": found["SecretAccessKey"],
        "aws_session_token": found["SessionToken"],
    }


def client(service: str, endpoint: str, **keys: str):
    return new_session().client(service, region_name=REGION, endpoint_url=endpoint, **keys)


@pytest.fixture
def codepipeline(moto) -> Iterator[FakeCodePipeline]:
    with FakeCodePipeline() as fake:
        yield fake


def test_a_member_account_s_pipeline_is_seen_by_its_callers_only(codepipeline, member_keys):
    codepipeline.add_pipeline("ami-bakery-base")
    codepipeline.in_account(MEMBER).add_pipeline("ami-bakery-web")
    member = client("codepipeline", codepipeline.endpoint, **member_keys)
    own = client("codepipeline", codepipeline.endpoint)

    arn = member.get_pipeline(name="ami-bakery-web")["metadata"]["pipelineArn"]
    assert arn == f"arn:aws:codepipeline:{REGION}:{MEMBER}:ami-bakery-web"
    with pytest.raises(ClientError) as refused:
        own.get_pipeline(name="ami-bakery-web")
    assert refused.value.response["Error"]["Code"] == "PipelineNotFoundException"
    with pytest.raises(ClientError):
        member.get_pipeline(name="ami-bakery-base")  # the bakery's pipeline is not the member's
    assert own.get_pipeline(name="ami-bakery-base")["metadata"]["pipelineArn"].split(":")[4] == ACCOUNT


def test_a_caller_of_an_account_the_fake_was_never_told_about_sees_its_own_account_s(codepipeline, member_keys):
    codepipeline.add_pipeline("ami-bakery-web")  # one account's tests: nothing asked of the member account
    member = client("codepipeline", codepipeline.endpoint, **member_keys)
    assert member.get_pipeline(name="ami-bakery-web")["pipeline"]["name"] == "ami-bakery-web"


def test_a_member_account_s_repository_is_its_own(moto, tmp_path, member_keys):
    with FakeCodeCommit(tmp_path / "cc") as fake:
        fake.in_account(MEMBER).create_repository({"repositoryName": "ami-bakery-web"})
        member = client("codecommit", fake.endpoint, **member_keys)
        own = client("codecommit", fake.endpoint)

        metadata = member.get_repository(repositoryName="ami-bakery-web")["repositoryMetadata"]
        assert metadata["accountId"] == MEMBER and metadata["Arn"].split(":")[4] == MEMBER
        with pytest.raises(ClientError) as refused:
            own.get_repository(repositoryName="ami-bakery-web")
        assert refused.value.response["Error"]["Code"] == "RepositoryDoesNotExistException"
        assert fake.in_account(MEMBER).bare_path("ami-bakery-web") != fake.bare_path("ami-bakery-web")


def test_an_instance_refresh_acts_on_the_caller_s_account_s_group(moto, aws_session, member_keys):
    in_member = AccountSession(aws_session, MEMBER)
    template = in_member.client("ec2").create_launch_template(
        LaunchTemplateName="web-prod", LaunchTemplateData={"ImageId": "ami-11111111", "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    in_member.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName="web-prod",
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        MinSize=2,
        MaxSize=2,
        DesiredCapacity=2,
        AvailabilityZones=["eu-west-1a"],
    )
    with FakeAutoScaling(moto, duration=10.0) as fake:
        member = client("autoscaling", fake.endpoint, **member_keys)
        own = client("autoscaling", fake.endpoint)

        with pytest.raises(ClientError) as refused:
            own.start_instance_refresh(AutoScalingGroupName="web-prod")  # the bakery's account has no such group
        assert "AutoScalingGroup name not found" in refused.value.response["Error"]["Message"]
        refresh = member.start_instance_refresh(AutoScalingGroupName="web-prod")["InstanceRefreshId"]

        [listed] = member.describe_instance_refreshes(AutoScalingGroupName="web-prod")["InstanceRefreshes"]
        assert listed["InstanceRefreshId"] == refresh and listed["InstancesToUpdate"] == 2
        assert own.describe_instance_refreshes(AutoScalingGroupName="web-prod")["InstanceRefreshes"] == []
