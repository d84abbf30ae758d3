"""Ec2Lifecycle against moto: which AMIs are the bakery's, one AMI of this account whatever its tags, tags, what
uses AMIs where the region has no DescribeImageReferences (moto has none), and deregistration deleting the
snapshots moto keeps, in a few calls however many AMIs there are."""

from __future__ import annotations

import boto3
import pytest

from bot.adapters.aws.ec2_lifecycle import Ec2Lifecycle
from bot.adapters.aws.ec2_references import BY_DESCRIBING
from bot.domain.links import CONSOLE
from bot.wiring.adapters import Adapters, Clients
from tests.accounts.conftest import MEMBER, image
from tests.fixtures.aws import ACCOUNT, REGION


@pytest.fixture
def ec2(aws_session: boto3.Session):
    return aws_session.client("ec2")


def register(ec2, name: str, **tags: str) -> str:
    """An AMI with one EBS snapshot (moto's snapshots are 15 GiB whatever the volume), tagged."""
    ami_id = ec2.register_image(
        Name=name,
        RootDeviceName="/dev/xvda",
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
    )["ImageId"]
    if tags:
        ec2.create_tags(Resources=[ami_id], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    return ami_id


def snapshots_of(ec2, ami_id: str) -> list[str]:
    [image] = ec2.describe_images(ImageIds=[ami_id])["Images"]
    return [m["Ebs"]["SnapshotId"] for m in image["BlockDeviceMappings"] if m.get("Ebs", {}).get("SnapshotId")]


def calls_of(client) -> list[str]:
    calls: list[str] = []
    client.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
    return calls


def test_the_bakery_amis_are_this_accounts_amis_tagged_bakery_image(ec2):
    # (Oldest first is test_ec2_lifecycle.py's: moto's creation dates are whole seconds, these share one.)
    first = register(ec2, "web-1", **{"bakery:image": "web", "bakery:released": "true"})
    register(ec2, "by-hand")  # no bakery:image: not the bakery's
    second = register(ec2, "web-2", **{"bakery:image": "web"})

    amis = sorted(Ec2Lifecycle(ec2).bakery_amis(), key=lambda a: a.ami_id != first)

    assert [a.ami_id for a in amis] == [first, second]
    assert amis[0].tags == {"bakery:image": "web", "bakery:released": "true"}
    assert (amis[0].region, amis[0].account_id, amis[0].state) == (REGION, ACCOUNT, "available")
    assert amis[0].snapshot_ids == tuple(snapshots_of(ec2, first))
    assert amis[0].snapshot_gb == 15  # moto gives no FullSnapshotSizeInBytes: the volume's size is the bound


def test_owned_is_any_ami_of_this_account_and_none_for_an_unknown_one(ec2):
    # (That Owners=["self"] leaves out an AMI another account shares is test_ec2_lifecycle.py's exact request:
    # moto answers an AMI asked by id whoever owns it.)
    by_hand = register(ec2, "by-hand")
    lifecycle = Ec2Lifecycle(ec2)

    found = lifecycle.owned(by_hand)

    assert found is not None and (found.name, found.tags, found.account_id) == ("by-hand", {}, ACCOUNT)
    assert lifecycle.owned("ami-0aaaaaaaaaaaaaaaa") is None
    assert lifecycle.owned("not-an-ami") is None


def test_a_tag_is_added_beside_the_others(ec2):
    ami_id = register(ec2, "web-1", **{"bakery:image": "web"})

    Ec2Lifecycle(ec2).tag(ami_id, {"bakery:revoked": "CVE-2026-1234"})

    assert Ec2Lifecycle(ec2).owned(ami_id).tags == {"bakery:image": "web", "bakery:revoked": "CVE-2026-1234"}


def test_deregistration_leaves_neither_the_ami_nor_its_snapshots(ec2):
    ami_id = register(ec2, "web-1", **{"bakery:image": "web"})
    kept = register(ec2, "web-2", **{"bakery:image": "web"})
    [ami] = [a for a in Ec2Lifecycle(ec2).bakery_amis() if a.ami_id == ami_id]
    calls = calls_of(ec2)

    Ec2Lifecycle(ec2).deregister(ami)

    # moto takes DeleteAssociatedSnapshots but keeps the snapshots and reports none: they are deleted after.
    assert calls == ["DeregisterImage", "DeleteSnapshot"]
    assert Ec2Lifecycle(ec2).owned(ami_id) is None
    left = {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    assert left == set(snapshots_of(ec2, kept))


def launch(ec2, ami_id: str) -> str:
    return ec2.run_instances(ImageId=ami_id, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]


def test_without_describe_image_references_instances_and_every_template_version_are_found_in_few_calls(ec2):
    amis = [register(ec2, f"web-{n}", **{"bakery:image": "web"}) for n in range(25)]
    running, stopped, terminated = launch(ec2, amis[0]), launch(ec2, amis[1]), launch(ec2, amis[2])
    ec2.stop_instances(InstanceIds=[stopped])
    ec2.terminate_instances(InstanceIds=[terminated])
    # A target template with 12 versions (more than DescribeImageReferences' default depth): the first names AMI 3.
    template = ec2.create_launch_template(LaunchTemplateName="web-prod", LaunchTemplateData={"ImageId": amis[3]})
    template_id = template["LaunchTemplate"]["LaunchTemplateId"]
    for n in range(11):
        ec2.create_launch_template_version(LaunchTemplateId=template_id, LaunchTemplateData={"ImageId": amis[10 + n]})
    lifecycle = Ec2Lifecycle(ec2)
    calls = calls_of(ec2)

    found = lifecycle.references(amis, launch_templates=["web-prod"])

    assert found.method == BY_DESCRIBING
    used = {ami: [(r.kind, r.resource, r.detail) for r in refs] for ami, refs in found.by_ami.items() if refs}
    assert used[amis[0]] == [("instance", running, "running")]
    assert used[amis[1]] == [("instance", stopped, "stopped")]
    assert used[amis[3]] == [("launch-template", f"{template_id}:1", "version 1 of web-prod (its default)")]
    assert amis[2] not in used  # terminated
    assert set(used) == {amis[0], amis[1], amis[3], *amis[10:21]}
    # One try of DescribeImageReferences (moto cannot answer it), then one call of each read for 25 AMIs.
    assert calls == ["DescribeImageReferences", "DescribeInstances", "DescribeLaunchTemplateVersions"]

    calls.clear()
    lifecycle.references(amis, launch_templates=["web-prod"])

    assert calls == ["DescribeInstances", "DescribeLaunchTemplateVersions"]  # remembered for this client


def test_an_images_lifecycle_acts_in_its_account_and_a_region_in_the_bots(aws_session, tmp_path):
    web = image("web")  # account_role: the member account, reached by AssumeRole (§13)
    clients = Clients(aws_session, REGION)
    theirs = register(clients.of("ec2", web), "web-1", **{"bakery:image": "web"})
    ours = register(aws_session.client("ec2"), "base-1", **{"bakery:image": "base"})
    aws = Adapters(clients, workdir=str(tmp_path), links=CONSOLE)

    assert [(a.ami_id, a.account_id) for a in aws.lifecycle_for(web).bakery_amis()] == [(theirs, MEMBER)]
    assert [(a.ami_id, a.account_id) for a in aws.lifecycle_for(REGION).bakery_amis()] == [(ours, ACCOUNT)]
    assert [(a.ami_id, a.account_id) for a in aws.lifecycle_for(None).bakery_amis()] == [(ours, ACCOUNT)]
