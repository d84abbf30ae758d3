"""`/bake gc` and `gc_confirm` driven from outside (§6, §14): signed Slack requests to the running bot, AMIs,
instances, launch templates and parameters in moto; every kind of use keeps its AMI, the dry run changes
nothing, and only approvers see the list or run it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.adapters.test_ec2_lifecycle_moto import register
from tests.fixtures.aws import ACCOUNT, new_session
from tests.fixtures.bakery import APPROVER, OUTSIDER, REQUESTER

LIFECYCLE = "lifecycle: {keep_released: 2, keep_unreleased_days: 0, deprecate_after_days: 365}\n"


@pytest.fixture
def gc_bakery(bakery_factory):
    return bakery_factory(text=lambda written: written + LIFECYCLE)


@pytest.fixture
def ec2(gc_bakery):
    return new_session().client("ec2")



def unreleased(ec2, name: str) -> str:
    return register(ec2, f"base-{name}", **{"bakery:image": "base", "bakery:request-id": f"b-{name}"})


def world(ec2) -> dict:
    """Every AMI (with its tags and deprecation) and snapshot moto holds: what a dry run must leave alone."""
    images = ec2.describe_images(Owners=["self"], IncludeDeprecated=True)["Images"]
    snapshots = ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
    return {
        "images": sorted(
            (
                i["ImageId"],
                json.dumps(sorted((t["Key"], t["Value"]) for t in i.get("Tags", []))),
                i.get("DeprecationTime"),
            )
            for i in images
        ),
        "snapshots": sorted(s["SnapshotId"] for s in snapshots),
    }


def snapshots_of(ec2, ami_id: str) -> list[str]:
    [image] = ec2.describe_images(ImageIds=[ami_id])["Images"]
    return [m["Ebs"]["SnapshotId"] for m in image["BlockDeviceMappings"]]


def existing(ec2, ami_ids) -> set[str]:
    images = ec2.describe_images(Owners=["self"], IncludeDeprecated=True)["Images"]
    return {i["ImageId"] for i in images} & set(ami_ids)


def as_message(answer: dict) -> dict:
    """A private answer as a message one can click in (the stand-in's ephemeral shape)."""
    return {**answer, "channel": "C0BAKERY", "ts": "1700000000.000100", "ephemeral_to": APPROVER}


def test_bake_gc_is_refused_to_a_non_approver(gc_bakery):
    answer = gc_bakery.command(REQUESTER, "gc")

    assert "You are not allowed to sweep AMIs: you are not in `access.approvers`" in answer["text"]
    assert "gc_confirm" not in json.dumps(answer)


def test_every_kind_of_use_keeps_its_ami_and_the_rest_goes_with_its_snapshots(gc_bakery, ec2):
    running, stopped, old_version, latest, free = (unreleased(ec2, n) for n in ("a", "b", "c", "d", "e"))
    foreign = register(ec2, "by-hand")  # no bakery:image
    ec2.run_instances(ImageId=running, MinCount=1, MaxCount=1)
    stopping = ec2.run_instances(ImageId=stopped, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[stopping])
    ec2.create_launch_template(LaunchTemplateName="base-canary", LaunchTemplateData={"ImageId": old_version})
    ec2.create_launch_template_version(LaunchTemplateName="base-canary", LaunchTemplateData={"ImageId": foreign})
    new_session().client("ssm").put_parameter(Name="/bakery/images/base/latest", Value=latest, Type="String")
    free_snapshots = snapshots_of(ec2, free)
    before = world(ec2)

    answer = gc_bakery.command(APPROVER, "gc")

    assert world(ec2) == before  # the dry run changed nothing
    shown = json.dumps(answer)
    assert f"`{free}` (eu-west-1), 15 GB: unreleased, 0 days old" in shown
    assert "Would remove* (1)" in shown and "Kept because in use* (4)" in shown
    assert "launch template `" in shown and "instance `i-" in shown
    assert re.search(r"launch template `lt-[0-9a-f]+`, version 1 of base-canary", shown), shown  # version said once
    assert "parameter `/bakery/images/base/latest`" in shown and foreign not in shown

    status, _ = gc_bakery.click(APPROVER, as_message(answer), "gc_confirm")
    assert status == 200
    gc_bakery.wait_ephemeral(APPROVER, "Sweep done: 1 AMI removed, 15 GB freed, 4 kept in use")

    assert existing(ec2, [running, stopped, old_version, latest, foreign, free]) == {
        running,
        stopped,
        old_version,
        latest,
        foreign,
    }
    left = {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    assert not left & set(free_snapshots)
    report = gc_bakery.wait(
        lambda: next(
            (m for m in gc_bakery.messages() if "Lifecycle sweep*" in m["text"] and not m.get("ephemeral_to")), None
        ),
        what="the sweep's report in the channel",
    )
    assert report["channel"] == "C0BAKERY" and "Removed* (1)" in json.dumps(report)


def test_gc_confirm_is_refused_to_a_non_approver_and_a_second_click_does_nothing(gc_bakery, ec2):
    free = unreleased(ec2, "f")
    answer = gc_bakery.command(APPROVER, "gc")

    gc_bakery.click(OUTSIDER, as_message(answer), "gc_confirm")
    gc_bakery.wait_ephemeral(OUTSIDER, "You are not allowed to sweep AMIs: you are not in `access.approvers`")
    assert existing(ec2, [free]) == {free}

    gc_bakery.click(APPROVER, as_message(answer), "gc_confirm")
    gc_bakery.wait_ephemeral(APPROVER, "Sweep done: 1 AMI removed")
    gc_bakery.click(APPROVER, as_message(answer), "gc_confirm")
    gc_bakery.wait_ephemeral(APPROVER, "confirmed already")
    assert existing(ec2, [free]) == set()


def released(ec2, name: str, days_ago: int, region: str = "eu-west-1") -> str:
    """A released AMI of base made `days_ago` days ago (moto stamps every AMI now: its date is set in moto)."""
    from moto.ec2.models import ec2_backends  # the suite's moto server runs in this process

    ami = register(ec2, f"base-{name}", **{"bakery:image": "base", "bakery:released": "true"})
    ec2_backends[ACCOUNT][region].amis[ami].creation_date = datetime.now(UTC) - timedelta(days=days_ago)
    return ami


SHARED = "    region: eu-west-1\n    share_with: {regions: [us-east-1]}\n"


def run_sweep(bakery) -> dict:
    """An approver's /bake gc, then its Run button; returns the report the channel got."""
    answer = bakery.command(APPROVER, "gc")
    bakery.click(APPROVER, as_message(answer), "gc_confirm")
    bakery.wait_ephemeral(APPROVER, "Sweep done")
    return bakery.wait(
        lambda: next(
            (m for m in bakery.messages() if "Lifecycle sweep*" in m["text"] and not m.get("ephemeral_to")), None
        ),
        what="the sweep's report",
    )


def test_keep_counts_hold_in_each_region(bakery_factory):
    bakery = bakery_factory(text=lambda written: written.replace("    region: eu-west-1\n", SHARED, 1) + LIFECYCLE)
    here, there = new_session().client("ec2"), new_session("us-east-1").client("ec2")
    west = [released(here, f"w{n}", 30 - n) for n in range(3)]
    east = [released(there, f"e{n}", 30 - n, "us-east-1") for n in range(3)]

    run_sweep(bakery)

    assert existing(here, west) == set(west[1:]) and existing(there, east) == set(east[1:])


def test_a_release_superseded_long_enough_gets_a_deprecation_time_once(bakery_factory):
    lifecycle = "lifecycle: {keep_released: 5, keep_unreleased_days: 0, deprecate_after_days: 30}\n"
    bakery = bakery_factory(text=lambda written: written + lifecycle)
    ec2 = new_session().client("ec2")
    old, newer, newest = released(ec2, "old", 100), released(ec2, "newer", 40), released(ec2, "newest", 1)

    report = run_sweep(bakery)

    images = {i["ImageId"]: i for i in ec2.describe_images(ImageIds=[old, newer, newest])["Images"]}
    assert "DeprecationTime" in images[old]  # superseded by `newer` 40 days ago
    assert "DeprecationTime" not in images[newer] and "DeprecationTime" not in images[newest]
    assert f"`{old}`" in json.dumps(report["blocks"]) and "Deprecated* (1)" in json.dumps(report["blocks"])
    again = bakery.command(APPROVER, "gc")
    assert "Would deprecate" not in json.dumps(again)  # once: it has a deprecation time now


def test_an_instance_in_the_member_account_keeps_a_base_ami_running_there(bakery_factory):
    from tests.accounts.conftest import MEMBER, ROLE
    from tests.accounts.test_member_bake import member_ec2

    line = "    pipeline: ami-bakery-web\n"
    bakery = bakery_factory(text=lambda written: written.replace(line, f"{line}    account_role: {ROLE}\n") + LIFECYCLE)
    ec2 = new_session().client("ec2")
    shared, free = unreleased(ec2, "shared"), unreleased(ec2, "free")
    instance = member_ec2().run_instances(ImageId=shared, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]

    report = run_sweep(bakery)

    assert existing(ec2, [shared, free]) == {shared}
    assert f"instance `{instance}` in {MEMBER}" in json.dumps(report["blocks"])
