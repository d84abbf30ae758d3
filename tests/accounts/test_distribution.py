"""A release's distribution hop (CONTRACT §12, §13), driven from outside through the running bot, on moto in two
accounts and two regions: base (the bakery's account, eu-west-1) shares with the member account and copies into
us-east-1, where web (the member account, through its role) is built on it.

moto answers CopyImage without looking at Encrypted, KmsKeyId, ClientToken or CopyImageTags, and its copies are
available at once: what the bot asks EC2 is read off the bot's own boto3 session (botocore's events), and a copy
that is still pending, or that failed, is EC2's answer as the bot reads it (DescribeImages' `after-call`).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from bot.sandbox.aws.seed import register_ami
from bot.trains.book import train_id_for
from tests.accounts.conftest import MEMBER, ROLE
from tests.fixtures.bakery import REQUESTER
from tests.fixtures.waiting import wait_for

SHARE = f"    share_with: {{accounts: ['{MEMBER}'], regions: [eu-west-1, us-east-1]}}\n"


def distributing(text: str) -> str:
    """base shares with the member account and us-east-1; web lives there, through its role, and follows base."""
    base = "    pipeline: ami-bakery-base\n"
    web = "    pipeline: ami-bakery-web\n    parent: base\n"
    member_web = f"{web}    on_parent_release: bake\n    account_role: {ROLE}\n    region: us-east-1\n"
    return text.replace(base, base + SHARE).replace(web, member_web)


class Ec2Side:
    """What the bot asks EC2 (CopyImage's parameters), and the state EC2 answers for the copies it describes."""

    def __init__(self, session: boto3.Session):
        self.copies: list[dict[str, Any]] = []
        self.copy_state = ""  # "" : as moto says; else the state every copy is described in
        self.reason = ""
        self.described: list[str] = []
        self.refusals = 0  # CopyImage answers this many times with `refusal` before it copies
        self.refusal = ("ResourceLimitExceeded", "You have reached the limit of concurrent AMI copies")
        self.lock = threading.Lock()
        session.events.register("provide-client-params.ec2.CopyImage", self._copy)
        session.events.register("before-call.ec2.CopyImage", self._refuse)
        session.events.register("after-call.ec2.DescribeImages", self._described)

    def _copy(self, params: dict[str, Any], **_: Any) -> None:
        with self.lock:
            self.copies.append(dict(params))

    def _refuse(self, **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        """EC2's error answer, as botocore would have parsed it (a stand-in: moto has no copy quota)."""
        with self.lock:
            if self.refusals <= 0:
                return None
            self.refusals -= 1
        code, message = self.refusal
        answer = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}
        return AWSResponse("https://ec2.us-east-1.amazonaws.com/", 400, {}, None), answer

    def _described(self, parsed: dict[str, Any], **_: Any) -> None:
        for image in parsed.get("Images") or []:
            if image.get("Description", "").startswith("Copied by the bakery"):
                with self.lock:
                    self.described.append(image["ImageId"])
                if self.copy_state:
                    image["State"] = self.copy_state
                    image["StateReason"] = {"Code": "Client.Error", "Message": self.reason}


def ec2(region: str) -> Any:
    return boto3.client("ec2", region_name=region)


def released_base(bakery, *, ami: str | None = None) -> tuple[str, str]:
    """A bake of base released with its AMI in eu-west-1 (registered in the bakery's account unless given)."""
    answer = bakery.command(REQUESTER, "base CVE-7")["text"]
    assert "Bake `b-" in answer, answer
    rid = answer.split("`")[1]
    if ami is None:
        ami = register_ami(ec2("eu-west-1"), f"base-{rid}", {"bakery:request-id": rid, "bakery:image": "base"})
    bakery.run_pipeline("base", bakery.commit_of(rid), request_id=rid, amis=[("eu-west-1", ami)])
    return rid, ami


def copies_in(region: str, rid: str) -> list[dict[str, Any]]:
    filters = [{"Name": "tag:bakery:request-id", "Values": [rid]}]
    return ec2(region).describe_images(Owners=["self"], Filters=filters)["Images"]


def web_bake(bakery, rid: str):
    train_id = train_id_for(f"parent:{rid}")
    return next((b for b in bakery.services.bakes.status("web") if b.train_id == train_id), None)


def train_text(bakery, rid: str) -> str:
    train_id = train_id_for(f"parent:{rid}")
    top = next((m for m in bakery.messages() if m["text"].startswith(f"Release train {train_id}")), None)
    return json.dumps(top["blocks"]) if top else ""


def launch_permissions(region: str, ami_id: str) -> list[dict[str, str]]:
    return ec2(region).describe_image_attribute(ImageId=ami_id, Attribute="launchPermission")["LaunchPermissions"]


def volume_permissions(region: str, ami_id: str) -> list[list[dict[str, str]]]:
    client = ec2(region)
    [image] = client.describe_images(ImageIds=[ami_id])["Images"]
    snapshots = [m["Ebs"]["SnapshotId"] for m in image["BlockDeviceMappings"] if m.get("Ebs", {}).get("SnapshotId")]
    assert snapshots, image
    return [
        client.describe_snapshot_attribute(SnapshotId=s, Attribute="createVolumePermission")["CreateVolumePermissions"]
        for s in snapshots
    ]


@pytest.fixture
def side(bakery_factory) -> Ec2Side:
    return Ec2Side(bakery_factory.session)


@pytest.mark.parametrize("backend", ["sqlite", "dynamodb"])
def test_a_released_base_is_copied_encrypted_with_its_tags_and_shared_before_web_bakes_on_the_copy(
    bakery_factory, side, backend
):
    bakery = bakery_factory(text=distributing, backend=backend)
    rid, ami = released_base(bakery)

    web = bakery.wait(lambda: web_bake(bakery, rid), what="web's automatic bake", timeout=30)
    [copy] = copies_in("us-east-1", rid)
    assert web.source_ami == copy["ImageId"]  # the child in us-east-1 is built on the copy there
    [asked] = side.copies
    assert (asked["SourceImageId"], asked["SourceRegion"]) == (ami, "eu-west-1")
    assert (asked["Encrypted"], asked["KmsKeyId"], asked["CopyImageTags"]) == (True, "alias/ami-bakery-ami", True)
    assert asked["ClientToken"].startswith("bakery-")
    [source] = ec2("eu-west-1").describe_images(ImageIds=[ami])["Images"]
    assert {t["Key"]: t["Value"] for t in copy["Tags"]} == {t["Key"]: t["Value"] for t in source["Tags"]}
    for region, ami_id in (("eu-west-1", ami), ("us-east-1", copy["ImageId"])):
        assert launch_permissions(region, ami_id) == [{"UserId": MEMBER}]
        assert volume_permissions(region, ami_id) == [[{"UserId": MEMBER}]]
    [snapshot] = [m["Ebs"]["SnapshotId"] for m in copy["BlockDeviceMappings"]]
    [described] = ec2("us-east-1").describe_snapshots(SnapshotIds=[snapshot])["Snapshots"]
    assert {t["Key"]: t["Value"] for t in described["Tags"]}["bakery:image"] == "base"  # what the roles share
    # The copy is one of the bake's AMIs: the message names it, and the image's latest AMIs (the parent pin).
    bake = bakery.services.bakes.get(rid)
    assert [(a.region, a.ami_id) for a in bake.amis] == [("eu-west-1", ami), ("us-east-1", copy["ImageId"])]
    latest = bakery.services.bakes.image_summary("base")["amis"]
    assert {a["region"]: a["ami_id"] for a in latest} == {"eu-west-1": ami, "us-east-1": copy["ImageId"]}
    bakery.wait(lambda: copy["ImageId"] in json.dumps(bakery.bake_message(rid)["blocks"]), what="the copy shown")


def test_web_waits_while_the_copy_is_pending_and_the_train_shows_the_hop(bakery_factory, side):
    side.copy_state = "pending"
    bakery = bakery_factory(text=distributing)
    rid, _ = released_base(bakery)

    bakery.wait(lambda: "copying to us-east-1" in train_text(bakery, rid), what="the hop copying", timeout=30)
    bakery.wait(lambda: len(side.described) >= 5, what="the chore looking at the copy again and again")
    bakery.wait_idle()
    assert web_bake(bakery, rid) is None  # nothing follows the release while its copy is pending
    assert f"bake *base* `{rid}`" in train_text(bakery, rid)

    side.copy_state = ""  # EC2 says available now
    web = bakery.wait(lambda: web_bake(bakery, rid), what="web's automatic bake", timeout=30)
    [copy] = copies_in("us-east-1", rid)
    assert web.source_ami == copy["ImageId"]
    line = f"distribution of *base* `{rid}`: copied to us-east-1, shared with {MEMBER}"
    web_line = f"bake *web* `{web.request_id}`"
    text = bakery.wait(
        lambda: (t := train_text(bakery, rid)) and line in t and web_line in t and t, what="the hop done, then web"
    )
    assert text.index(f"`{rid}`: released") < text.index(line) < text.index(web_line)


def test_a_repeated_release_and_a_restart_while_the_copy_is_pending_make_no_second_copy(bakery_factory, side):
    side.copy_state = "pending"
    bakery = bakery_factory(text=distributing)
    rid, ami = released_base(bakery)
    bakery.wait(lambda: len(side.described) >= 3, what="the chore looking at the pending copy", timeout=30)

    bakery.run_pipeline("base", bakery.commit_of(rid), request_id=rid, amis=[("eu-west-1", ami)])  # redelivered
    bakery.wait_idle()
    bakery_factory.stop(bakery)
    seen = len(side.described)
    again = bakery_factory(text=distributing)  # a restart: the chore takes the distribution up again
    again.run_pipeline("base", again.commit_of(rid), request_id=rid, amis=[("eu-west-1", ami)])
    again.wait(lambda: len(side.described) >= seen + 3, what="the restarted chore looking at the copy")
    side.copy_state = ""
    web = again.wait(lambda: web_bake(again, rid), what="web's automatic bake", timeout=30)
    again.wait_idle()
    assert len(side.copies) == 1 and len(copies_in("us-east-1", rid)) == 1
    assert [b.request_id for b in again.services.bakes.status("web") if b.train_id] == [web.request_id]
    again.run_pipeline("base", again.commit_of(rid), request_id=rid, amis=[("eu-west-1", ami)])  # once it is done
    again.wait_idle()
    assert [a.region for a in again.services.bakes.get(rid).amis] == ["eu-west-1", "us-east-1"]  # the copy stays
    assert len(side.copies) == 1


def test_a_copy_that_fails_is_told_in_the_thread_and_nothing_follows(bakery_factory, side):
    side.copy_state, side.reason = "failed", "Copy failed: the KMS key is disabled"
    bakery = bakery_factory(text=distributing)
    rid, _ = released_base(bakery)

    said = bakery.wait(
        lambda: next((m["text"] for m in bakery.thread(rid) if "Could not copy to us-east-1" in m["text"]), None),
        what="the failure in the bake's thread",
        timeout=30,
    )
    assert "the KMS key is disabled" in said and "Nothing that follows this release" in said
    wait_for(
        lambda: "failed (copying to us-east-1" in train_text(bakery, rid),
        what="the hop failed",
        explain=lambda: train_text(bakery, rid),
    )
    bakery.wait(lambda: "(finished" in train_text(bakery, rid), what="the train finished")
    bakery.wait_idle()
    assert web_bake(bakery, rid) is None


def test_a_source_ami_ec2_does_not_know_fails_the_hop_with_ec2s_words(bakery_factory, side):
    bakery = bakery_factory(text=distributing)
    # A bake result is believed only for an AMI its account has (§13): this one is gone by the time it is copied.
    side.refusals = 1
    side.refusal = ("InvalidAMIID.NotFound", "The image id does not exist")
    rid, ami = released_base(bakery)

    said = bakery.wait(
        lambda: next((m["text"] for m in bakery.thread(rid) if "Could not copy to us-east-1" in m["text"]), None),
        what="the failure in the bake's thread",
        timeout=30,
    )
    assert ami in said and "InvalidAMIID.NotFound" in said
    assert "Nothing that follows this release" in said  # no retry can help: the hop fails at once
    bakery.wait_idle()
    assert web_bake(bakery, rid) is None and copies_in("us-east-1", rid) == []


def test_an_aws_error_is_told_once_and_tried_again_with_the_same_client_token(bakery_factory, side):
    side.refusals = 2
    bakery = bakery_factory(text=distributing)
    rid, ami = released_base(bakery)

    web = bakery.wait(lambda: web_bake(bakery, rid), what="web's automatic bake after two refusals", timeout=30)
    [copy] = copies_in("us-east-1", rid)
    assert web.source_ami == copy["ImageId"]
    assert len(side.copies) == 3 and len({c["ClientToken"] for c in side.copies}) == 1  # one copy, asked 3 times
    bakery.wait_idle()
    said = [m["text"] for m in bakery.thread(rid) if "trying again" in m["text"]]
    assert said == [  # the same error twice is told once
        f":warning: Could not copy to us-east-1 and share with {MEMBER} yet; trying again in 1 min: Could not copy "
        f"AMI {ami} from eu-west-1 to us-east-1: You have reached the limit of concurrent AMI copies "
        "(ResourceLimitExceeded)"
    ]
