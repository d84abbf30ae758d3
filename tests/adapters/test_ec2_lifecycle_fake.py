"""Ec2Lifecycle through the local EC2 stand-in (bot/sandbox/aws/fake_ec2, in front of moto), which answers
DescribeImageReferences, EnableImageDeprecation and DeregisterImage's DeleteAssociatedSnapshots as AWS does: the
same code path as on AWS, and the fallbacks where a region refuses them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from bot.adapters.aws.ec2_lifecycle import Ec2Lifecycle
from bot.adapters.aws.ec2_references import BY_DESCRIBING, BY_REFERENCES
from tests.adapters.test_ec2_lifecycle_moto import calls_of, launch, register, snapshots_of
from tests.fixtures.aws import REGION

pytestmark = pytest.mark.usefixtures("fake_ec2")


@pytest.fixture
def ec2(fake_ec2):
    return boto3.client("ec2", region_name=REGION)  # made after the fixture: through the stand-in


def snapshots(ec2) -> set[str]:
    return {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}


def test_describe_image_references_finds_instances_templates_and_parameters_ten_amis_a_call(ec2):
    amis = [register(ec2, f"web-{n}", **{"bakery:image": "web"}) for n in range(12)]
    running, stopped = launch(ec2, amis[0]), launch(ec2, amis[1])
    ec2.stop_instances(InstanceIds=[stopped])
    ec2.terminate_instances(InstanceIds=[launch(ec2, amis[2])])
    template = ec2.create_launch_template(LaunchTemplateName="web-prod", LaunchTemplateData={"ImageId": amis[3]})
    template_id = template["LaunchTemplate"]["LaunchTemplateId"]
    ec2.create_launch_template_version(LaunchTemplateId=template_id, LaunchTemplateData={"ImageId": amis[4]})
    other = ec2.create_launch_template(LaunchTemplateName="batch", LaunchTemplateData={"ImageId": amis[5]})
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/bakery/images/web/latest", Value=amis[11], Type="String", DataType="aws:ec2:image"
    )
    calls = calls_of(ec2)

    found = Ec2Lifecycle(ec2).references(amis, launch_templates=["web-prod"])

    assert found.method == BY_REFERENCES
    used = {ami: [(r.kind, r.resource) for r in refs] for ami, refs in found.by_ami.items() if refs}
    assert used == {
        amis[0]: [("instance", running)],
        amis[1]: [("instance", stopped)],
        amis[3]: [("launch-template", f"{template_id}:1")],  # the target's own, by version
        amis[4]: [("launch-template", f"{template_id}:2")],
        amis[5]: [("launch-template", other["LaunchTemplate"]["LaunchTemplateId"])],  # any other template
        amis[11]: [("ssm-parameter", "/bakery/images/web/latest")],
    }
    assert calls == ["DescribeImageReferences"] * 2 + ["DescribeLaunchTemplateVersions"]


def test_where_the_region_lacks_it_the_instances_and_versions_are_read_instead_and_that_is_remembered(ec2, fake_ec2):
    fake_ec2.references_supported = False
    amis = [register(ec2, f"web-{n}", **{"bakery:image": "web"}) for n in range(3)]
    running = launch(ec2, amis[0])
    ec2.create_launch_template(LaunchTemplateName="web-prod", LaunchTemplateData={"ImageId": amis[1]})
    lifecycle = Ec2Lifecycle(ec2)
    calls = calls_of(ec2)

    found = lifecycle.references(amis, launch_templates=["web-prod"])
    again = lifecycle.references(amis, launch_templates=["web-prod"])

    assert found.method == again.method == BY_DESCRIBING
    assert [(r.kind, r.resource) for r in found.by_ami[amis[0]]] == [("instance", running)]
    assert [r.kind for r in found.by_ami[amis[1]]] == ["launch-template"]
    assert found.by_ami[amis[2]] == ()
    assert calls == ["DescribeImageReferences", "DescribeInstances", "DescribeLaunchTemplateVersions"] + [
        "DescribeInstances", "DescribeLaunchTemplateVersions"
    ]  # fmt: skip


def test_deprecating_now_shows_as_a_deprecation_time_and_the_ami_stays_the_bakerys(ec2):
    ami_id = register(ec2, "web-1", **{"bakery:image": "web"})
    now = datetime.now(UTC)

    Ec2Lifecycle(ec2).deprecate(ami_id, now)

    [ami] = Ec2Lifecycle(ec2).bakery_amis()
    assert ami.ami_id == ami_id and ami.deprecation_time is not None
    at = datetime.fromisoformat(ami.deprecation_time.replace("Z", "+00:00"))
    assert now < at <= now + timedelta(seconds=65) and at.second == 0


def test_deregistration_deletes_the_snapshots_with_it_in_one_call(ec2):
    ami_id = register(ec2, "web-1", **{"bakery:image": "web"})
    kept = register(ec2, "web-2", **{"bakery:image": "web"})
    [ami] = [a for a in Ec2Lifecycle(ec2).bakery_amis() if a.ami_id == ami_id]
    calls = calls_of(ec2)

    Ec2Lifecycle(ec2).deregister(ami)

    assert calls == ["DeregisterImage"]
    assert Ec2Lifecycle(ec2).owned(ami_id) is None
    assert snapshots(ec2) == set(snapshots_of(ec2, kept))


def test_where_deregistration_refuses_the_snapshot_option_they_are_deleted_one_by_one(ec2, fake_ec2):
    fake_ec2.delete_snapshots_supported = False
    first, second = (register(ec2, f"web-{n}", **{"bakery:image": "web"}) for n in (1, 2))
    amis = {a.ami_id: a for a in Ec2Lifecycle(ec2).bakery_amis()}
    lifecycle = Ec2Lifecycle(ec2)
    calls = calls_of(ec2)

    lifecycle.deregister(amis[first])
    lifecycle.deregister(amis[second])

    assert calls == ["DeregisterImage", "DeregisterImage", "DeleteSnapshot"] + ["DeregisterImage", "DeleteSnapshot"]
    assert Ec2Lifecycle(ec2).bakery_amis() == [] and snapshots(ec2) == set()
