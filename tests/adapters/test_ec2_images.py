"""Ec2Images: finding a bake's AMIs and describing one AMI, against moto and, for exact requests, Stubber."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import boto3
import pytest
from botocore.stub import Stubber

from bot.adapters.aws.ec2_images import Ec2Images
from bot.domain.errors import ImageError
from bot.domain.models import TAG_IMAGE, TAG_REQUEST_ID, Ami
from bot.domain.ports import ImageInfo
from tests.fixtures.aws import ACCOUNT, REGION


@pytest.fixture
def ec2(aws_session: boto3.Session):
    return aws_session.client("ec2")


def bake_ami(ec2, name: str, **tags: str) -> str:
    """An AMI as a bake leaves it: registered in this account, then tagged."""
    ami_id = ec2.register_image(
        Name=name,
        RootDeviceName="/dev/xvda",
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
    )["ImageId"]
    ec2.create_tags(Resources=[ami_id], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    return ami_id


def request_tag(request_id: str) -> dict[str, str]:
    return {TAG_REQUEST_ID: request_id}


def test_a_bakes_ami_is_found_by_its_request_id_with_region_and_account(ec2):
    ami_id = bake_ami(ec2, "web-1", **request_tag("b-7f3k2q"))

    assert Ec2Images(ec2).find_by_request("b-7f3k2q") == [
        Ami(region=REGION, ami_id=ami_id, account_id=ACCOUNT)
    ]


def test_amis_of_other_bakes_are_not_found(ec2):
    bake_ami(ec2, "web-1", **request_tag("b-other1"))

    assert Ec2Images(ec2).find_by_request("b-7f3k2q") == []


def test_every_ami_of_a_multi_ami_bake_is_found(ec2):
    first = bake_ami(ec2, "web-x86", **request_tag("b-7f3k2q"))
    second = bake_ami(ec2, "web-arm", **request_tag("b-7f3k2q"))

    found = {ami.ami_id for ami in Ec2Images(ec2).find_by_request("b-7f3k2q")}

    assert found == {first, second}


def test_only_available_amis_owned_by_this_account_are_asked_for():
    client = boto3.client("ec2", region_name=REGION)
    with Stubber(client) as stubber:
        stubber.add_response(
            "describe_images",
            {"Images": []},
            {
                "Owners": ["self"],
                "Filters": [
                    {"Name": "tag:bakery:request-id", "Values": ["b-7f3k2q"]},
                    {"Name": "state", "Values": ["available"]},
                ],
            },
        )

        Ec2Images(client).find_by_request("b-7f3k2q")

        stubber.assert_no_pending_responses()


def test_a_refused_look_up_is_an_image_error_that_says_what_failed():
    client = boto3.client("ec2", region_name=REGION)
    with Stubber(client) as stubber:
        stubber.add_client_error("describe_images", "UnauthorizedOperation", "You are not authorized", 403)

        with pytest.raises(ImageError, match=r"look up the AMIs of bake b-7f3k2q: You are not authorized"):
            Ec2Images(client).find_by_request("b-7f3k2q")


def test_describing_an_ami_gives_its_state_name_tags_and_creation_date(ec2):
    ami_id = bake_ami(ec2, "web-1", **{TAG_IMAGE: "web", TAG_REQUEST_ID: "b-7f3k2q"})

    info = Ec2Images(ec2).describe(ami_id)

    assert replace(info, created="") == ImageInfo(
        ami_id=ami_id,
        state="available",
        name="web-1",
        created="",
        region=REGION,
        account_id=ACCOUNT,
        tags={TAG_IMAGE: "web", TAG_REQUEST_ID: "b-7f3k2q"},
    )
    assert datetime.fromisoformat(info.created)


def test_an_ami_that_does_not_exist_is_none(ec2):
    assert Ec2Images(ec2).describe("ami-0123456789abcdef0") is None


def test_an_id_that_is_not_an_ami_id_is_none(ec2):
    assert Ec2Images(ec2).describe("web-prod") is None


def test_a_deregistered_ami_is_none(ec2):
    ami_id = bake_ami(ec2, "web-1")
    ec2.deregister_image(ImageId=ami_id)

    assert Ec2Images(ec2).describe(ami_id) is None


def test_a_refused_describe_is_an_image_error():
    client = boto3.client("ec2", region_name=REGION)
    with Stubber(client) as stubber:
        stubber.add_client_error("describe_images", "RequestLimitExceeded", "Request limit exceeded.", 503)

        with pytest.raises(ImageError, match="describe AMI ami-0123456789abcdef0"):
            Ec2Images(client).describe("ami-0123456789abcdef0")
