"""An image with `account_role` (CONTRACT §13) is reached through sts:AssumeRole, in its own account: the
credentials are shared, refreshed before they expire, asked for once however many bakes start together, and a
refusal is one clear line naming the account and the image, and is backed off."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.adapters.aws.assumed import AssumedSessions, AssumeRoleRefused, session_name
from bot.adapters.aws.codecommit import CodeCommitRepo
from bot.adapters.aws.preflight import check_aws
from bot.config import Environment, parse_config
from bot.domain.errors import FleetError
from bot.domain.links import CONSOLE
from bot.sandbox.aws.seed import register_ami
from bot.wiring.adapters import Adapters, Clients
from tests.accounts.conftest import MEMBER, ROLE, image
from tests.fixtures.aws import ACCOUNT, new_session

WEB = image("web")
BASE = image("base", role=None, repository="codecommit://ami-bakery-base")


def assume_role_calls(session: Any) -> list[dict[str, Any]]:
    """Every AssumeRole the bot's own session sends, with its parameters (as botocore is about to send them)."""
    calls: list[dict[str, Any]] = []

    def seen(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    session.events.register("provide-client-params.sts.AssumeRole", seen)
    return calls


@pytest.fixture
def own(moto: str) -> Any:
    return new_session()


def adapters(session: Any, tmp_path: Any, external_id: str = "") -> Adapters:
    return Adapters(Clients(session, "eu-west-1", external_id=external_id), workdir=str(tmp_path), links=CONSOLE)


def test_the_image_s_adapters_act_in_its_account_and_the_others_in_the_bot_s(own, tmp_path):
    aws = adapters(own, tmp_path)
    member_ec2 = Clients(own, "eu-west-1").of("ec2", WEB)
    assert Clients(own, "eu-west-1").of("sts", WEB).get_caller_identity()["Account"] == MEMBER
    ami = register_ami(member_ec2, "web-1", {"bakery:request-id": "b-web001"})
    own_ami = register_ami(own.client("ec2"), "base-1", {"bakery:request-id": "b-base01"})

    assert [a.ami_id for a in aws.images_for(WEB).find_by_request("b-web001")] == [ami]
    assert [a.account_id for a in aws.images_for(WEB).find_by_request("b-web001")] == [MEMBER]
    assert aws.images_for(BASE).find_by_request("b-web001") == []  # the bot's account has no such AMI
    assert aws.images_for("eu-west-1").find_by_request("b-web001") == []
    assert [a.ami_id for a in aws.images_for(BASE).find_by_request("b-base01")] == [own_ami]
    assert aws.images_for(WEB).find_by_request("b-base01") == []

    Clients(own, "eu-west-1").of("ssm", WEB).put_parameter(Name="/bakery/web", Value=ami, Type="String")
    assert aws.parameters_for(WEB).get("/bakery/web") == ami
    assert aws.parameters_for(BASE).get("/bakery/web") is None


def test_the_image_s_codecommit_repository_is_the_one_in_its_account(own, tmp_path):
    Clients(own, "eu-west-1").of("codecommit", WEB).create_repository(repositoryName="ami-bakery-web")
    repo = adapters(own, tmp_path).repo_for(WEB)
    assert isinstance(repo, CodeCommitRepo)
    # moto's CodeCommit has repositories but no commits: the repository's own client shows which account it is in.
    assert repo._client.get_repository(repositoryName="ami-bakery-web")["repositoryMetadata"]["accountId"] == MEMBER
    with pytest.raises(Exception, match="RepositoryDoesNotExist"):
        own.client("codecommit").get_repository(repositoryName="ami-bakery-web")


def test_the_external_id_and_a_session_name_naming_the_image_are_sent(own, tmp_path):
    calls = assume_role_calls(own)
    aws = adapters(own, tmp_path, external_id="bakery-7f3a")
    aws.images_for(WEB).find_by_request("b-web001")
    assert [(c["RoleArn"], c["RoleSessionName"], c.get("ExternalId")) for c in calls] == [
        (ROLE, "ami-bakery-web", "bakery-7f3a")
    ]
    adapters(own, tmp_path).images_for(image("api")).find_by_request("b-api001")
    assert "ExternalId" not in calls[-1]  # BAKERY_EXTERNAL_ID unset: none sent
    assert calls[-1]["RoleSessionName"] == "ami-bakery-api"


def test_a_session_name_stays_within_sts_s_rule():
    assert session_name("web") == "ami-bakery-web"
    assert len(session_name("w" * 63)) == 64


def test_concurrent_first_use_makes_one_assume_role(own, tmp_path):
    calls = assume_role_calls(own)
    aws = adapters(own, tmp_path)
    start = threading.Barrier(8)
    found: list[Any] = []

    def bake() -> None:
        images = aws.images_for(WEB)
        start.wait()
        found.append(images.find_by_request("b-web001"))

    threads = [threading.Thread(target=bake) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert found == [[]] * 8
    assert len(calls) == 1


def test_credentials_are_refreshed_before_they_expire_and_not_sooner(own):
    calls = assume_role_calls(own)
    offset = [timedelta(0)]
    assumed = AssumedSessions(
        lambda region: own.client("sts", region_name=region),
        time_fetcher=lambda: datetime.now(UTC) + offset[0],
        duration_seconds=3600,
    )
    session = assumed.session(ROLE, "web", "eu-west-1")
    sts = session.client("sts")
    assert sts.get_caller_identity()["Account"] == MEMBER
    first = session.get_credentials().get_frozen_credentials().access_key
    offset[0] = timedelta(minutes=40)  # 20 minutes left: still good
    sts.get_caller_identity()
    assert len(calls) == 1
    offset[0] = timedelta(minutes=50)  # 10 minutes left: inside botocore's 15-minute advisory window
    assert sts.get_caller_identity()["Account"] == MEMBER
    assert len(calls) == 2
    assert session.get_credentials().get_frozen_credentials().access_key != first


def test_a_refused_assume_role_is_one_line_naming_the_role_and_the_image(own, tmp_path, refusing_sts):
    aws = adapters(own, tmp_path)
    with pytest.raises(AssumeRoleRefused) as refused:
        aws.images_for(WEB).find_by_request("b-web001")
    message = str(refused.value)
    assert message.startswith(f"The bakery cannot reach account {MEMBER} for image web: User: ")
    assert message.endswith("(AccessDenied). Check the role's trust policy and BAKERY_EXTERNAL_ID.")
    assert "\n" not in message
    assert "testing" not in message  # the bot's own credentials (the suite's) never show
    assert aws.images_for(BASE).find_by_request("b-web001") == []  # the bot's own account is unaffected


def test_a_refused_external_id_is_told_without_its_value(own, tmp_path):
    with pytest.raises(AssumeRoleRefused, match="BAKERY_EXTERNAL_ID") as refused:
        adapters(own, tmp_path, external_id="x").images_for(WEB).find_by_request("b-web001")
    assert "'x'" not in str(refused.value)


CHECKED = """
slack: {channel: C0BAKERY}
images:
  base: {repository: /tmp/unused-base.git, pipeline: ami-bakery-base, region: eu-west-1}
  web:
    repository: codecommit://ami-bakery-web
    pipeline: ami-bakery-web
    region: eu-west-1
    account_role: arn:aws:iam::210987654321:role/ami-bakery-bot
targets:
  web-prod: {image: web, auto_scaling_group: web-prod, launch_template: web-prod}
"""


def test_bakery_check_aws_names_the_refused_role_by_its_key_path(own, refusing_sts, monkeypatch):
    from bot.sandbox.aws.fake_codepipeline import FakeCodePipeline

    fake = FakeCodePipeline().start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEPIPELINE", fake.endpoint)
    try:
        fake.add_pipeline("ami-bakery-base")
        problems = check_aws(parse_config(CHECKED), Environment(aws_region="eu-west-1"), session=own)
    finally:
        fake.stop()
    assert problems == [
        f"images.web.account_role: The bakery cannot reach account {MEMBER} for image web: User: arn:aws:sts::"
        f"{ACCOUNT}:assumed-role/ami-bakery/bot is not authorized to perform: sts:AssumeRole on resource: {ROLE}"
        " (AccessDenied). Check the role's trust policy and BAKERY_EXTERNAL_ID."
    ]


def test_bakery_check_aws_looks_for_the_image_s_resources_in_its_account(own, monkeypatch):
    from bot.sandbox.aws.fake_codepipeline import FakeCodePipeline

    fake = FakeCodePipeline().start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEPIPELINE", fake.endpoint)
    try:
        fake.add_pipeline("ami-bakery-base")
        fake.add_pipeline("ami-bakery-web")
        own.client("codecommit").create_repository(repositoryName="ami-bakery-web")  # the wrong account's
        problems = check_aws(parse_config(CHECKED), Environment(aws_region="eu-west-1"), session=own)
        assert [p.split(":")[0] for p in problems] == ["images.web.repository", "targets.web-prod.auto_scaling_group"]
        member = Clients(own, "eu-west-1")
        member.of("codecommit", WEB).create_repository(repositoryName="ami-bakery-web")
        member.of("ec2", WEB).create_launch_template(
            LaunchTemplateName="web-prod", LaunchTemplateData={"ImageId": "ami-12345678"}
        )
        member.of("autoscaling", WEB).create_auto_scaling_group(
            AutoScalingGroupName="web-prod",
            LaunchTemplate={"LaunchTemplateName": "web-prod"},
            MinSize=0,
            MaxSize=1,
            AvailabilityZones=["eu-west-1a"],
        )
        assert check_aws(parse_config(CHECKED), Environment(aws_region="eu-west-1"), session=own) == []
    finally:
        fake.stop()


TARGETED = """
slack: {channel: C0BAKERY}
images:
  web:
    repository: codecommit://ami-bakery-web
    pipeline: ami-bakery-web
    region: eu-west-1
    account_role: arn:aws:iam::210987654321:role/ami-bakery-bot
targets:
  web-prod: {image: web, auto_scaling_group: web-prod, launch_template: web-prod, region: us-east-1}
"""


def test_a_target_s_group_and_template_are_reached_in_its_image_s_account_and_its_own_region(own, tmp_path):
    config = parse_config(TARGETED)
    where = config.where("web", "us-east-1")
    member = Clients(own, "eu-west-1")
    template = member.of("ec2", where).create_launch_template(
        LaunchTemplateName="web-prod", LaunchTemplateData={"ImageId": "ami-12345678"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    member.of("autoscaling", where).create_auto_scaling_group(
        AutoScalingGroupName="web-prod",
        LaunchTemplate={"LaunchTemplateName": "web-prod"},
        MinSize=0,
        MaxSize=1,
        AvailabilityZones=["us-east-1a"],
    )
    aws = adapters(own, tmp_path)
    assert aws.fleet_for(where).launch_template_of("web-prod").id == template
    with pytest.raises(FleetError, match="Could not find Auto Scaling group web-prod in us-east-1"):
        aws.fleet_for("us-east-1").launch_template_of("web-prod")  # the bot's own account has none
    with pytest.raises(FleetError, match="in eu-west-1"):
        aws.fleet_for(config.where("web", "eu-west-1")).launch_template_of("web-prod")  # nor the image's region
