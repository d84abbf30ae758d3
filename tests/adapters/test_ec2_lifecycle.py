"""Ec2Lifecycle's exact requests (Stubber: botocore checks each against EC2's service model): the bakery's AMIs with
their snapshot sizes, both ways of finding what uses them, deprecation, tags, and deregistration with its fallback."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from bot.adapters.aws.ec2_lifecycle import Ec2Lifecycle
from bot.adapters.aws.ec2_references import BY_DESCRIBING, BY_REFERENCES
from bot.domain.errors import ImageError
from bot.domain.fleet_types import ImageReference, OwnedAmi
from tests.fixtures.aws import ACCOUNT, REGION

GIB = 2**30
TEMPLATE = "lt-0123456789abcdef0"
NOW = datetime(2026, 12, 1, 21, 0, 12, tzinfo=UTC)


def ami_id(n: int) -> str:
    return f"ami-{n:017x}"


def snap_id(n: int) -> str:
    return f"snap-{n:017x}"


@pytest.fixture
def ec2():
    return boto3.client("ec2", region_name=REGION)


@pytest.fixture
def stub(ec2):
    with Stubber(ec2) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def image(n: int, created: str, *, snapshots: tuple[tuple[int, int], ...] = (), **extra) -> dict:
    return {
        "ImageId": ami_id(n),
        "Name": f"web-{n}",
        "State": "available",
        "CreationDate": created,
        "OwnerId": ACCOUNT,
        "Tags": [{"Key": "bakery:image", "Value": "web"}],
        "BlockDeviceMappings": [
            {"DeviceName": f"/dev/xvd{chr(97 + i)}", "Ebs": {"SnapshotId": snap_id(s), "VolumeSize": gib}}
            for i, (s, gib) in enumerate(snapshots)
        ],
        **extra,
    }


LIST = {"Owners": ["self"], "Filters": [{"Name": "tag-key", "Values": ["bakery:image"]}], "IncludeDeprecated": True}


def test_the_bakery_amis_are_every_page_oldest_first_with_deprecation_and_snapshot_sizes(ec2, stub):
    newer = image(2, "2026-11-20T10:00:00.000Z", snapshots=((21, 8),))
    older = image(1, "2026-11-01T10:00:00.000Z", snapshots=((11, 8), (12, 30)),
                  DeprecationTime="2026-12-01T10:00:00.000Z")  # fmt: skip
    stub.add_response("describe_images", {"Images": [newer], "NextToken": "page-2"}, LIST)
    stub.add_response("describe_images", {"Images": [older]}, {**LIST, "NextToken": "page-2"})
    # AWS gives the written blocks' size of two snapshots; for the third the volume's 30 GiB is the bound.
    stub.add_response(
        "describe_snapshots",
        {
            "Snapshots": [
                {"SnapshotId": snap_id(11), "VolumeSize": 8, "FullSnapshotSizeInBytes": int(2.5 * GIB)},
                {"SnapshotId": snap_id(12), "VolumeSize": 30},
                {"SnapshotId": snap_id(21), "VolumeSize": 8, "FullSnapshotSizeInBytes": 3 * GIB},
            ]
        },
        {"OwnerIds": ["self"], "Filters": [{"Name": "snapshot-id", "Values": [snap_id(11), snap_id(12), snap_id(21)]}]},
    )

    amis = Ec2Lifecycle(ec2).bakery_amis()

    assert amis == [
        OwnedAmi(ami_id=ami_id(1), name="web-1", state="available", created="2026-11-01T10:00:00.000Z",
                 region=REGION, account_id=ACCOUNT, tags={"bakery:image": "web"},
                 snapshot_ids=(snap_id(11), snap_id(12)), snapshot_gb=33,
                 deprecation_time="2026-12-01T10:00:00.000Z"),
        OwnedAmi(ami_id=ami_id(2), name="web-2", state="available", created="2026-11-20T10:00:00.000Z",
                 region=REGION, account_id=ACCOUNT, tags={"bakery:image": "web"},
                 snapshot_ids=(snap_id(21),), snapshot_gb=3),
    ]  # fmt: skip


def test_the_snapshot_sizes_cost_one_call_per_200_snapshots(ec2, stub):
    images = [image(n, f"2026-11-01T10:{n // 60:02d}:{n % 60:02d}.000Z", snapshots=((n, 8),)) for n in range(250)]
    stub.add_response("describe_images", {"Images": images}, LIST)
    for batch in ([snap_id(n) for n in range(200)], [snap_id(n) for n in range(200, 250)]):
        stub.add_response(
            "describe_snapshots", {"Snapshots": []},
            {"OwnerIds": ["self"], "Filters": [{"Name": "snapshot-id", "Values": batch}]},
        )  # fmt: skip

    amis = Ec2Lifecycle(ec2).bakery_amis()

    assert [a.snapshot_gb for a in amis] == [8] * 250  # no full size given: the volume's


def test_an_ami_this_account_does_not_own_is_none(ec2, stub):
    stub.add_client_error(
        "describe_images", "InvalidAMIID.NotFound", "The image id '[ami-0aaaaaaaaaaaaaaaa]' does not exist",
        expected_params={"ImageIds": ["ami-0aaaaaaaaaaaaaaaa"], "Owners": ["self"]},
    )  # fmt: skip
    stub.add_response("describe_images", {"Images": []}, {"ImageIds": [ami_id(7)], "Owners": ["self"]})

    lifecycle = Ec2Lifecycle(ec2)

    assert lifecycle.owned("ami-0aaaaaaaaaaaaaaaa") is None
    assert lifecycle.owned(ami_id(7)) is None


# --- references ------------------------------------------------------------------------------------------------

RESOURCE_TYPES = [
    {
        "ResourceType": "ec2:Instance",
        "ResourceTypeOptions": [
            {"OptionName": "state-name", "OptionValues": ["pending", "running", "shutting-down", "stopping", "stopped"]}
        ],
    },
    {
        "ResourceType": "ec2:LaunchTemplate",
        "ResourceTypeOptions": [{"OptionName": "version-depth", "OptionValues": ["10000"]}],
    },
    {"ResourceType": "ssm:Parameter"},
]


def versions(*numbers_and_amis: tuple[int, str], default: int = 0) -> list[dict]:
    return [
        {"LaunchTemplateId": TEMPLATE, "LaunchTemplateName": "web-prod", "VersionNumber": n,
         "DefaultVersion": n == default, "LaunchTemplateData": {"ImageId": ami}}
        for n, ami in numbers_and_amis
    ]  # fmt: skip


def test_references_ask_ten_amis_a_call_and_read_every_version_of_the_targets_templates(ec2, stub):
    ids = [ami_id(n) for n in range(12)]
    arn = f"arn:aws:ec2:{REGION}:{ACCOUNT}"
    stub.add_response(
        "describe_image_references",
        {
            "ImageReferences": [
                {"ImageId": ids[0], "ResourceType": "ec2:Instance", "Arn": f"{arn}:instance/i-0123456789abcdef0"},
                {"ImageId": ids[3], "ResourceType": "ec2:LaunchTemplate", "Arn": f"{arn}:launch-template/{TEMPLATE}"},
            ],
            "NextToken": "more",
        },
        {"ImageIds": ids[:10], "ResourceTypes": RESOURCE_TYPES},
    )
    stub.add_response(
        "describe_image_references",
        {"ImageReferences": [{"ImageId": ids[5], "ResourceType": "ssm:Parameter",
                              "Arn": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/bakery/images/web/latest"}]},
        {"ImageIds": ids[:10], "ResourceTypes": RESOURCE_TYPES, "NextToken": "more"},
    )  # fmt: skip
    stub.add_response("describe_image_references", {"ImageReferences": []},
                      {"ImageIds": ids[10:], "ResourceTypes": RESOURCE_TYPES})  # fmt: skip
    # The template's versions in two pages: version 3 names AMI 3 (DescribeImageReferences saw the template), and
    # version 1, older than any depth, names AMI 11.
    page = {"LaunchTemplateId": TEMPLATE, "MaxResults": 200}
    stub.add_response(
        "describe_launch_template_versions",
        {"LaunchTemplateVersions": versions((4, ids[9]), (3, ids[3]), default=4), "NextToken": "v"},
        page,
    )
    stub.add_response("describe_launch_template_versions",
                      {"LaunchTemplateVersions": versions((2, "ami-0ffffffffffffffff"), (1, ids[11]))},
                      {**page, "NextToken": "v"})  # fmt: skip

    found = Ec2Lifecycle(ec2).references(ids, launch_templates=[TEMPLATE])

    assert found.method == BY_REFERENCES
    assert set(found.by_ami) == set(ids)
    assert {ami: refs for ami, refs in found.by_ami.items() if refs} == {
        ids[0]: (ImageReference(ids[0], "instance", "i-0123456789abcdef0"),),
        ids[3]: (ImageReference(ids[3], "launch-template", f"{TEMPLATE}:3", "version 3 of web-prod"),),
        ids[5]: (ImageReference(ids[5], "ssm-parameter", "/bakery/images/web/latest"),),
        ids[9]: (ImageReference(ids[9], "launch-template", f"{TEMPLATE}:4", "version 4 of web-prod (its default)"),),
        ids[11]: (ImageReference(ids[11], "launch-template", f"{TEMPLATE}:1", "version 1 of web-prod"),),
    }


def instances_filter(ids: list[str]) -> dict:
    return {
        "Filters": [
            {"Name": "image-id", "Values": ids},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
        ]
    }


def test_where_the_region_has_no_describe_image_references_instances_and_versions_are_read_and_remembered(ec2, stub):
    ids = [ami_id(n) for n in range(250)]
    stub.add_client_error(
        "describe_image_references", "InvalidAction", "The action DescribeImageReferences is not valid for this web "
        "service.", expected_params={"ImageIds": ids[:10], "ResourceTypes": RESOURCE_TYPES},
    )  # fmt: skip
    for _ in range(2):  # the second time straight to the fallback
        stub.add_response(
            "describe_instances",
            {"Reservations": [{"Instances": [
                {"InstanceId": "i-0aaaaaaaaaaaaaaa1", "ImageId": ids[1], "State": {"Name": "stopped"}}]}]},
            instances_filter(ids[:200]),
        )  # fmt: skip
        stub.add_response(
            "describe_instances",
            {"Reservations": [{"Instances": [
                {"InstanceId": "i-0aaaaaaaaaaaaaaa2", "ImageId": ids[220], "State": {"Name": "running"}}]}]},
            instances_filter(ids[200:]),
        )  # fmt: skip
        stub.add_response("describe_launch_template_versions",
                          {"LaunchTemplateVersions": versions((1, ids[7]))},
                          {"LaunchTemplateName": "web-prod", "MaxResults": 200})  # fmt: skip

    lifecycle = Ec2Lifecycle(ec2)
    for _ in range(2):
        found = lifecycle.references(ids, launch_templates=["web-prod"])

        assert found.method == BY_DESCRIBING
        assert {ami: refs for ami, refs in found.by_ami.items() if refs} == {
            ids[1]: (ImageReference(ids[1], "instance", "i-0aaaaaaaaaaaaaaa1", "stopped"),),
            ids[7]: (ImageReference(ids[7], "launch-template", f"{TEMPLATE}:1", "version 1 of web-prod"),),
            ids[220]: (ImageReference(ids[220], "instance", "i-0aaaaaaaaaaaaaaa2", "running"),),
        }


def test_a_refused_reference_check_is_an_image_error_not_a_fallback(ec2, stub):
    stub.add_client_error("describe_image_references", "UnauthorizedOperation", "You are not authorized")

    with pytest.raises(ImageError, match="UnauthorizedOperation"):
        Ec2Lifecycle(ec2).references([ami_id(1)])


def test_a_target_template_that_no_longer_exists_uses_nothing(ec2, stub):
    stub.add_response("describe_image_references", {"ImageReferences": []})
    stub.add_client_error("describe_launch_template_versions", "InvalidLaunchTemplateId.NotFound", "gone")

    found = Ec2Lifecycle(ec2).references([ami_id(1)], launch_templates=[TEMPLATE])

    assert found.by_ami == {ami_id(1): ()}


# --- deprecation and tags --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "at", "sent"),
    [
        (NOW, NOW, datetime(2026, 12, 1, 21, 1, tzinfo=UTC)),  # now: the next whole minute, never in the past
        (NOW, datetime(2026, 12, 1, 20, 0, tzinfo=UTC), datetime(2026, 12, 1, 21, 1, tzinfo=UTC)),  # past: the same
        # 3 s before a whole minute, that minute could be past when EC2 reads it: the one after
        (NOW.replace(second=57), NOW.replace(second=57), datetime(2026, 12, 1, 21, 2, tzinfo=UTC)),
        (NOW, datetime(2027, 3, 1, 9, 30, 20, tzinfo=UTC), datetime(2027, 3, 1, 9, 31, tzinfo=UTC)),  # later: up
        (NOW, datetime(2027, 3, 1, 9, 30), datetime(2027, 3, 1, 9, 30, tzinfo=UTC)),  # naive is UTC
    ],
)
def test_deprecation_is_sent_as_a_whole_minute_not_in_the_past(ec2, stub, now, at, sent):
    stub.add_response("enable_image_deprecation", {"Return": True}, {"ImageId": ami_id(1), "DeprecateAt": sent})

    Ec2Lifecycle(ec2, clock=lambda: now).deprecate(ami_id(1), at)


def test_a_tag_is_written_on_the_ami(ec2, stub):
    stub.add_response(
        "create_tags", {},
        {"Resources": [ami_id(1)], "Tags": [{"Key": "bakery:revoked", "Value": "CVE-2026-1234"}]},
    )  # fmt: skip

    Ec2Lifecycle(ec2).tag(ami_id(1), {"bakery:revoked": "CVE-2026-1234"})


# --- deregistration --------------------------------------------------------------------------------------------


def owned(*snapshots: int) -> OwnedAmi:
    return OwnedAmi(ami_id=ami_id(1), name="web-1", state="available", created="2026-11-01T10:00:00.000Z",
                    region=REGION, account_id=ACCOUNT, snapshot_ids=tuple(snap_id(s) for s in snapshots))  # fmt: skip


def test_deregistration_deletes_the_snapshots_with_it_and_retries_only_those_it_could_not(ec2, stub):
    stub.add_response(
        "deregister_image",
        {"Return": True, "DeleteSnapshotResults": [
            {"SnapshotId": snap_id(1), "ReturnCode": "success"},
            {"SnapshotId": snap_id(2), "ReturnCode": "skipped"},  # another AMI uses it: it stays
            {"SnapshotId": snap_id(3), "ReturnCode": "internal-error"},
        ]},
        {"ImageId": ami_id(1), "DeleteAssociatedSnapshots": True},
    )  # fmt: skip
    stub.add_response("delete_snapshot", {}, {"SnapshotId": snap_id(3)})

    Ec2Lifecycle(ec2).deregister(owned(1, 2, 3))


def test_where_ec2_refuses_the_snapshot_option_they_are_deleted_one_by_one_and_that_is_remembered(ec2, stub):
    stub.add_client_error(
        "deregister_image", "UnknownParameter", "The parameter DeleteAssociatedSnapshots is not recognized",
        expected_params={"ImageId": ami_id(1), "DeleteAssociatedSnapshots": True},
    )  # fmt: skip
    for _ in range(2):
        stub.add_response("deregister_image", {"Return": True}, {"ImageId": ami_id(1)})
        stub.add_response("delete_snapshot", {}, {"SnapshotId": snap_id(1)})
        stub.add_client_error("delete_snapshot", "InvalidSnapshot.NotFound", "gone already",
                              expected_params={"SnapshotId": snap_id(2)})  # fmt: skip

    lifecycle = Ec2Lifecycle(ec2)
    lifecycle.deregister(owned(1, 2))
    lifecycle.deregister(owned(1, 2))


def test_a_refused_deregistration_names_the_ami_and_awss_reason_and_deletes_nothing(ec2, stub):
    stub.add_client_error(
        "deregister_image", "OperationNotPermitted",
        f"The image {ami_id(1)} has deregistration protection enabled",
        expected_params={"ImageId": ami_id(1), "DeleteAssociatedSnapshots": True},
    )  # fmt: skip

    with pytest.raises(ImageError) as refused:
        Ec2Lifecycle(ec2).deregister(owned(1))

    assert str(refused.value) == (
        f"Could not deregister AMI {ami_id(1)} ({REGION}, account {ACCOUNT}): The image {ami_id(1)} has "
        "deregistration protection enabled (OperationNotPermitted)"
    )


def test_a_snapshot_that_cannot_be_deleted_is_reported_after_the_others(ec2, stub):
    stub.add_response("deregister_image", {"Return": True}, {"ImageId": ami_id(1), "DeleteAssociatedSnapshots": True})
    stub.add_client_error("delete_snapshot", "UnauthorizedOperation", "You are not authorized",
                          expected_params={"SnapshotId": snap_id(1)})  # fmt: skip
    stub.add_response("delete_snapshot", {}, {"SnapshotId": snap_id(2)})

    with pytest.raises(ImageError, match=rf"AMI {ami_id(1)} .* is deregistered, but .*{snap_id(1)}"):
        Ec2Lifecycle(ec2).deregister(owned(1, 2))
