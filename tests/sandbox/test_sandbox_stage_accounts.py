"""The sandbox pipeline's stages act in the image's account (§13), and its Bake refuses, as Packer on AWS would, a
source AMI of another account that was not shared with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sandbox.aws.seed import register_ami
from bot.sandbox.aws.wire import AccountSession
from bot.sandbox.pipeline.journal import Journal
from bot.sandbox.pipeline.stages import Run, StageFailed, Stages
from tests.fixtures.aws import ACCOUNT

MEMBER = "210987654321"


@pytest.fixture
def stages_and_results(aws_session) -> tuple[Stages, list[dict]]:
    published: list[dict] = []
    stages = Stages(
        aws_session,
        publish=published.append,
        logs=Journal(),
        log_url=lambda e, s: "",
        account=ACCOUNT,
        members=(MEMBER,),
    )
    return stages, published


def web_run(source_ami: str, request_id: str) -> Run:
    request = {"request_id": request_id, "image": "web", "source_ami": source_ami}
    return Run("web", "ami-bakery-web", "base", "eu-west-1", Path("."), "e" * 36, "c" * 40, request, account=MEMBER)


def test_a_bake_in_the_member_account_on_an_ami_not_shared_with_it_fails_with_ec2_s_answer(
    aws_session, stages_and_results
):
    stages, published = stages_and_results
    base = register_ami(aws_session.client("ec2"), "base", {})  # the bakery's account's, shared with nobody

    with pytest.raises(StageFailed) as failed:
        stages.bake(web_run(base, "b-notshared"))

    assert failed.value.summary == f"Error querying AMI: InvalidAMIID.NotFound: The image id '[{base}]' does not exist"
    assert [(r["status"], r["amis"]) for r in published] == [("failed", [])]
    assert AccountSession(aws_session, MEMBER).client("ec2").describe_images(Owners=["self"])["Images"] == []


def test_once_shared_the_member_account_bakes_on_it_and_the_ami_is_its_own(aws_session, stages_and_results):
    stages, published = stages_and_results
    ec2 = aws_session.client("ec2")
    base = register_ami(ec2, "base", {})
    ec2.modify_image_attribute(ImageId=base, LaunchPermission={"Add": [{"UserId": MEMBER}]})
    run = web_run(base, "b-shared01")

    stages.bake(run)
    stages.test(run)
    stages.publish(run)

    member = AccountSession(aws_session, MEMBER)
    [image] = member.client("ec2").describe_images(Owners=["self"])["Images"]
    assert image["ImageId"] == run.ami_id and image["OwnerId"] == MEMBER
    assert [i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]] == [base]

    def booted(ec2) -> list[str]:
        return [i["ImageId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]

    assert booted(member.client("ec2")) == [run.ami_id] and booted(ec2) == []  # Test booted it there
    latest = member.client("ssm").get_parameter(Name="/bakery/images/web/latest")["Parameter"]["Value"]
    assert latest == run.ami_id
    [result] = published
    assert result["status"] == "succeeded" and result["amis"][0]["account_id"] == MEMBER
