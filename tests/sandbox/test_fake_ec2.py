"""FakeEc2 through boto3: deprecation, deregistration with snapshots, image references; moto for the rest."""

from __future__ import annotations

import datetime as dt
import http.client
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError

from bot.sandbox.aws.fake_ec2 import FakeEc2
from bot.sandbox.aws.wire import in_account
from tests.fixtures.aws import ACCOUNT, REGION

MEMBER = "210987654321"
NOW = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(fake_ec2: FakeEc2) -> Clock:
    fake_ec2.clock = clock = Clock()
    return clock


@pytest.fixture
def ec2(fake_ec2: FakeEc2) -> Any:
    return boto3.client("ec2", region_name=REGION)  # AWS_ENDPOINT_URL_EC2: the fake


@pytest.fixture
def ssm(moto: str) -> Any:
    return boto3.client("ssm", region_name=REGION)


def _ami(ec2: Any, name: str = "web-1") -> str:
    return str(ec2.register_image(Name=name, RootDeviceName="/dev/xvda")["ImageId"])


def _snapshot_of(ec2: Any, ami: str) -> str:
    return str(ec2.describe_images(ImageIds=[ami])["Images"][0]["BlockDeviceMappings"][0]["Ebs"]["SnapshotId"])


def _snapshots(ec2: Any) -> set[str]:
    return {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}


def _error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return {**caught.value.response["Error"], "status": caught.value.response["ResponseMetadata"]["HTTPStatusCode"]}


# --- the relay -------------------------------------------------------------------------------------------


def test_other_actions_reach_moto_unchanged(ec2, moto):
    ami = _ami(ec2)
    reservation = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1)
    direct = boto3.client("ec2", region_name=REGION, endpoint_url=moto)
    assert [i["InstanceId"] for r in direct.describe_instances()["Reservations"] for i in r["Instances"]] == [
        reservation["Instances"][0]["InstanceId"]
    ]
    assert _error(ec2.describe_instances, InstanceIds=["i-0123456789abcdef0"])["Code"] == "InvalidInstanceID.NotFound"


def test_one_connection_carries_many_requests_and_chunked_bodies(fake_ec2, ec2):
    ami = _ami(ec2)
    target = urlsplit(fake_ec2.endpoint)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
    auth = f"AWS4-HMAC-SHA256 Credential=testing/20261201/{REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": auth}
    try:
        for body in (f"Action=DescribeImages&Version=2016-11-15&ImageId.1={ami}", "Action=DescribeRegions"):
            connection.request("POST", "/", body=iter([body.encode()]), headers=headers, encode_chunked=True)
            answer = connection.getresponse()
            assert answer.status == 200, answer.read()
            assert answer.getheader("Connection") != "close"  # moto closes each one; the fake keeps the caller's
            answer.read()
    finally:
        connection.close()


# --- deprecation ----------------------------------------------------------------------------------------


def test_a_deprecation_time_is_rounded_to_the_minute_and_shown_by_describe_images(ec2, clock):
    ami = _ami(ec2)
    assert "DeprecationTime" not in ec2.describe_images(ImageIds=[ami])["Images"][0]
    assert ec2.enable_image_deprecation(ImageId=ami, DeprecateAt=NOW + dt.timedelta(minutes=5, seconds=31))["Return"]
    assert ec2.describe_images(Owners=["self"])["Images"][0]["DeprecationTime"] == "2026-12-01T12:06:00.000Z"
    assert ec2.disable_image_deprecation(ImageId=ami)["Return"]
    assert "DeprecationTime" not in ec2.describe_images(ImageIds=[ami])["Images"][0]


def test_a_deprecation_time_in_the_past_or_beyond_ten_years_is_refused(ec2, clock):
    ami = _ami(ec2)
    past = _error(ec2.enable_image_deprecation, ImageId=ami, DeprecateAt=NOW - dt.timedelta(seconds=1))
    assert (past["Code"], past["status"]) == ("InvalidParameterValue", 400)
    assert "in the past" in past["Message"]
    far = _error(ec2.enable_image_deprecation, ImageId=ami, DeprecateAt=NOW + dt.timedelta(days=3660))
    assert far["Code"] == "InvalidParameterValue"
    assert "DeprecationTime" not in ec2.describe_images(ImageIds=[ami])["Images"][0]


def test_deprecating_an_unknown_image_is_refused(ec2, clock):
    missing = _error(ec2.enable_image_deprecation, ImageId="ami-0123456789abcdef0", DeprecateAt=NOW)
    assert missing["Code"] == "InvalidAMIID.NotFound"
    assert _error(ec2.disable_image_deprecation, ImageId="ami-0123456789abcdef0")["Code"] == "InvalidAMIID.NotFound"


def test_a_dry_run_changes_nothing(ec2, clock):
    ami = _ami(ec2)
    dry = _error(ec2.enable_image_deprecation, ImageId=ami, DeprecateAt=NOW, DryRun=True)
    assert (dry["Code"], dry["status"]) == ("DryRunOperation", 412)
    assert "DeprecationTime" not in ec2.describe_images(ImageIds=[ami])["Images"][0]


def test_other_accounts_do_not_list_a_deprecated_ami_unless_they_name_it_or_ask(ec2, clock):
    """As AWS: the owner always sees its deprecated AMIs; a user of a shared one only by id or IncludeDeprecated."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.amis import Ami

    ami = _ami(ec2)
    ec2.enable_image_deprecation(ImageId=ami, DeprecateAt=NOW)
    member_backend = ec2_backends[MEMBER][REGION]  # moto keeps accounts apart: the share, as the member sees it
    member_backend.amis[ami] = Ami(member_backend, ami, name="web-1", owner_id=ACCOUNT)
    member = in_account(boto3.client("ec2", region_name=REGION), MEMBER)
    clock.now += 60  # the deprecation time has come

    assert [i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]] == [ami]
    assert member.describe_images()["Images"] == []
    assert [i["ImageId"] for i in member.describe_images(IncludeDeprecated=True)["Images"]] == [ami]
    assert member.describe_images(ImageIds=[ami])["Images"][0]["DeprecationTime"] == "2026-12-01T12:00:00.000Z"
    clock.now -= 120  # before that time, it is listed
    assert [i["ImageId"] for i in member.describe_images()["Images"]] == [ami]


# --- deregistration -------------------------------------------------------------------------------------


def test_deregistering_with_its_snapshots_deletes_them_and_says_so(ec2):
    ami, kept = _ami(ec2), _ami(ec2, "web-2")
    snapshot = _snapshot_of(ec2, ami)
    answer = ec2.deregister_image(ImageId=ami, DeleteAssociatedSnapshots=True)
    assert answer["Return"] is True
    assert answer["DeleteSnapshotResults"] == [{"SnapshotId": snapshot, "ReturnCode": "success"}]
    assert _snapshots(ec2) == {_snapshot_of(ec2, kept)}
    assert ec2.describe_images(Owners=["self"])["Images"][0]["ImageId"] == kept


def test_deregistering_without_the_option_keeps_the_snapshots(ec2):
    ami = _ami(ec2)
    snapshot = _snapshot_of(ec2, ami)
    assert "DeleteSnapshotResults" not in ec2.deregister_image(ImageId=ami)
    assert _snapshots(ec2) == {snapshot}


def test_deregistering_an_unknown_image_is_moto_s_error_and_deletes_nothing(ec2):
    snapshot = _snapshot_of(ec2, _ami(ec2))
    failed = _error(ec2.deregister_image, ImageId="ami-0123456789abcdef0", DeleteAssociatedSnapshots=True)
    assert (failed["Code"], failed["status"]) == ("InvalidAMIID.NotFound", 400)
    assert _snapshots(ec2) == {snapshot}


def test_where_the_option_is_unavailable_the_deregistration_is_refused(fake_ec2, ec2):
    fake_ec2.delete_snapshots_supported = False
    ami = _ami(ec2)
    refused = _error(ec2.deregister_image, ImageId=ami, DeleteAssociatedSnapshots=True)
    assert refused["Code"] == "UnknownParameter"
    assert [i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]] == [ami]
    ec2.deregister_image(ImageId=ami)  # the fallback: deregister, then delete the snapshots one by one
    ec2.delete_snapshot(SnapshotId=next(iter(_snapshots(ec2))))
    assert _snapshots(ec2) == set()


# --- image references ------------------------------------------------------------------------------------


def _references(ec2: Any, ami: str, **kwargs: Any) -> list[tuple[str, str]]:
    answer = ec2.describe_image_references(ImageIds=[ami], **kwargs)
    return [(r["ResourceType"], r["Arn"].rsplit(":", 1)[1]) for r in answer["ImageReferences"]]


def test_references_from_instances_in_every_state_by_default(ec2):
    ami, other = _ami(ec2), _ami(ec2, "web-2")
    running = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ended = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.run_instances(ImageId=other, MinCount=1, MaxCount=1)
    ec2.terminate_instances(InstanceIds=[ended])
    assert _references(ec2, ami, IncludeAllResourceTypes=True) == sorted(
        [("ec2:Instance", f"instance/{running}"), ("ec2:Instance", f"instance/{ended}")]
    )
    only_running = [
        {
            "ResourceType": "ec2:Instance",
            "ResourceTypeOptions": [{"OptionName": "state-name", "OptionValues": ["running"]}],
        }
    ]
    assert _references(ec2, ami, ResourceTypes=only_running) == [("ec2:Instance", f"instance/{running}")]
    answer = ec2.describe_image_references(ImageIds=[ami], ResourceTypes=only_running)["ImageReferences"][0]
    assert answer == {
        "ImageId": ami,
        "ResourceType": "ec2:Instance",
        "Arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{running}",
    }


def test_references_from_the_ten_newest_launch_template_versions_unless_told_otherwise(ec2):
    ami, newer = _ami(ec2), _ami(ec2, "web-2")
    template = ec2.create_launch_template(LaunchTemplateName="web-prod", LaunchTemplateData={"ImageId": ami})
    template_id = template["LaunchTemplate"]["LaunchTemplateId"]
    for _ in range(10):
        ec2.create_launch_template_version(LaunchTemplateId=template_id, LaunchTemplateData={"ImageId": newer})
    templates = [{"ResourceType": "ec2:LaunchTemplate"}]
    assert _references(ec2, ami, ResourceTypes=templates) == []  # only in version 1 of 11
    assert _references(ec2, newer, ResourceTypes=templates) == [
        ("ec2:LaunchTemplate", f"launch-template/{template_id}")
    ]
    deeper = [
        {
            "ResourceType": "ec2:LaunchTemplate",
            "ResourceTypeOptions": [{"OptionName": "version-depth", "OptionValues": ["11"]}],
        }
    ]
    assert _references(ec2, ami, ResourceTypes=deeper) == [("ec2:LaunchTemplate", f"launch-template/{template_id}")]


def test_references_from_image_parameters_only(ec2, ssm):
    ami = _ami(ec2)
    ssm.put_parameter(Name="/bakery/images/web/latest", Value=ami, Type="String", DataType="aws:ec2:image")
    ssm.put_parameter(Name="/notes/web", Value=ami, Type="String")  # text: not an image parameter
    answer = ec2.describe_image_references(ImageIds=[ami], ResourceTypes=[{"ResourceType": "ssm:Parameter"}])
    assert [r["Arn"] for r in answer["ImageReferences"]] == [
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/bakery/images/web/latest"
    ]
    assert _references(ec2, ami, ResourceTypes=[{"ResourceType": "ec2:Instance"}]) == []


def test_references_come_in_pages(ec2):
    ami = _ami(ec2)
    ec2.run_instances(ImageId=ami, MinCount=7, MaxCount=7)
    first = ec2.describe_image_references(ImageIds=[ami], IncludeAllResourceTypes=True, MaxResults=5)
    second = ec2.describe_image_references(
        ImageIds=[ami], IncludeAllResourceTypes=True, MaxResults=5, NextToken=first["NextToken"]
    )
    assert (len(first["ImageReferences"]), len(second["ImageReferences"]), "NextToken" in second) == (5, 2, False)
    paginator = ec2.get_paginator("describe_image_references")
    pages = paginator.paginate(ImageIds=[ami], IncludeAllResourceTypes=True, PaginationConfig={"PageSize": 5})
    assert len([r for page in pages for r in page["ImageReferences"]]) == 7


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"ImageIds": [f"ami-{i:017x}" for i in range(11)], "IncludeAllResourceTypes": True}, "InvalidParameterValue"),
        ({"ImageIds": ["ami-0123456789abcdef0"]}, "MissingParameter"),
        ({"ImageIds": ["image-1"], "IncludeAllResourceTypes": True}, "InvalidAMIID.Malformed"),
        (
            {
                "ImageIds": ["ami-0123456789abcdef0"],
                "ResourceTypes": [
                    {
                        "ResourceType": "ssm:Parameter",
                        "ResourceTypeOptions": [{"OptionName": "state-name", "OptionValues": ["running"]}],
                    }
                ],
            },
            "InvalidParameterValue",
        ),
        (
            {
                "ImageIds": ["ami-0123456789abcdef0"],
                "ResourceTypes": [
                    {
                        "ResourceType": "ec2:LaunchTemplate",
                        "ResourceTypeOptions": [{"OptionName": "version-depth", "OptionValues": ["0"]}],
                    }
                ],
            },
            "InvalidParameterValue",
        ),
        (
            {"ImageIds": ["ami-0123456789abcdef0"], "IncludeAllResourceTypes": True, "NextToken": "x"},
            "InvalidPaginationToken",
        ),
    ],
)
def test_bad_reference_requests_are_refused_as_ec2_does(ec2, kwargs, code):
    refused = _error(ec2.describe_image_references, **kwargs)
    assert (refused["Code"], refused["status"]) == (code, 400)


def test_a_region_without_image_references_answers_invalid_action(fake_ec2, ec2):
    fake_ec2.references_supported = False
    refused = _error(ec2.describe_image_references, ImageIds=["ami-0123456789abcdef0"], IncludeAllResourceTypes=True)
    assert refused == {
        "Code": "InvalidAction",
        "Message": "The action DescribeImageReferences is not valid for this web service.",
        "status": 400,
    }


# --- accounts ------------------------------------------------------------------------------------------


def test_each_account_sees_its_own_references_deprecations_and_snapshots(ec2, ssm, clock, moto):
    member = in_account(boto3.client("ec2", region_name=REGION), MEMBER)
    ours, theirs = _ami(ec2), _ami(member, "web-member")
    member.run_instances(ImageId=theirs, MinCount=1, MaxCount=1)
    ec2.run_instances(ImageId=theirs, MinCount=1, MaxCount=1)  # our instance of an id that is theirs
    in_account(ssm, MEMBER).put_parameter(
        Name="/bakery/images/web/latest", Value=theirs, Type="String", DataType="aws:ec2:image"
    )
    member_refs = member.describe_image_references(ImageIds=[theirs], IncludeAllResourceTypes=True)["ImageReferences"]
    assert sorted(r["ResourceType"] for r in member_refs) == ["ec2:Instance", "ssm:Parameter"]
    assert all(f":{MEMBER}:" in r["Arn"] for r in member_refs)
    our_refs = ec2.describe_image_references(ImageIds=[theirs], IncludeAllResourceTypes=True)["ImageReferences"]
    assert [(r["ResourceType"], f":{ACCOUNT}:" in r["Arn"]) for r in our_refs] == [("ec2:Instance", True)]

    assert _error(ec2.enable_image_deprecation, ImageId=theirs, DeprecateAt=NOW)["Code"] == "InvalidAMIID.NotFound"
    member.enable_image_deprecation(ImageId=theirs, DeprecateAt=NOW + dt.timedelta(hours=1))
    assert "DeprecationTime" in member.describe_images(ImageIds=[theirs])["Images"][0]
    assert "DeprecationTime" not in ec2.describe_images(ImageIds=[ours])["Images"][0]

    snapshot = _snapshot_of(member, theirs)
    member.terminate_instances(
        InstanceIds=[i["InstanceId"] for r in member.describe_instances()["Reservations"] for i in r["Instances"]]
    )
    results = member.deregister_image(ImageId=theirs, DeleteAssociatedSnapshots=True)["DeleteSnapshotResults"]
    assert results == [{"SnapshotId": snapshot, "ReturnCode": "success"}]
    assert _snapshots(member) == set()
    assert _snapshots(ec2) == {_snapshot_of(ec2, ours)}
