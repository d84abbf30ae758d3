"""A member account's image distributed on release (CONTRACT §13): copied and shared in its own account, through its
role, and encrypted with the bakery account's key of the copy's region, named by its alias's ARN (an alias alone
would name a key of the member account). Driven from outside; what the bot asks EC2 is read off every botocore
session the bot makes (the assumed-role ones are its own), since moto ignores KmsKeyId."""

from __future__ import annotations

from typing import Any

import boto3
import botocore.session
import pytest

from bot.sandbox.aws.seed import register_ami
from tests.accounts.conftest import MEMBER, ROLE
from tests.accounts.test_distribution import web_bake
from tests.fixtures.aws import ACCOUNT
from tests.fixtures.bakery import REQUESTER


def member_base(text: str) -> str:
    """base lives in the member account and shares with the bakery's, into us-east-1, where web (ours) follows it."""
    base = "    pipeline: ami-bakery-base\n"
    share = f"    account_role: {ROLE}\n    share_with: {{accounts: ['{ACCOUNT}'], regions: [us-east-1]}}\n"
    web = "    pipeline: ami-bakery-web\n    parent: base\n"
    return text.replace(base, base + share).replace(web, f"{web}    on_parent_release: bake\n    region: us-east-1\n")


def member(service: str, region: str) -> Any:
    credentials = boto3.client("sts").assume_role(RoleArn=ROLE, RoleSessionName="test")["Credentials"]
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


@pytest.fixture
def copies_asked(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    asked: list[dict[str, Any]] = []
    made = botocore.session.Session

    class Recording(made):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.register("provide-client-params.ec2.CopyImage", lambda params, **_: asked.append(dict(params)))

    monkeypatch.setattr(botocore.session, "Session", Recording)
    return asked


def test_a_member_images_copy_is_made_in_its_account_with_the_bakery_accounts_key(bakery_factory, copies_asked):
    bakery = bakery_factory(text=member_base)
    answer = bakery.command(REQUESTER, "base CVE-9")["text"]
    rid = answer.split("`")[1]
    tags = {"bakery:request-id": rid, "bakery:image": "base"}
    ami = register_ami(member("ec2", "eu-west-1"), f"base-{rid}", tags)
    bakery.run_pipeline("base", bakery.commit_of(rid), request_id=rid, amis=[("eu-west-1", ami)], account=MEMBER)

    web = bakery.wait(lambda: web_bake(bakery, rid), what="web's automatic bake on the copy", timeout=30)
    filters = [{"Name": "tag:bakery:request-id", "Values": [rid]}]
    [copy] = member("ec2", "us-east-1").describe_images(Owners=["self"], Filters=filters)["Images"]
    assert web.source_ami == copy["ImageId"] and copy["OwnerId"] == MEMBER
    assert boto3.client("ec2", region_name="us-east-1").describe_images(Owners=["self"])["Images"] == []
    [asked] = copies_asked
    assert asked["KmsKeyId"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/ami-bakery-ami"
    assert (asked["SourceImageId"], asked["Encrypted"]) == (ami, True)
    permissions = [
        member("ec2", region).describe_image_attribute(ImageId=ami_id, Attribute="launchPermission")
        for region, ami_id in (("eu-west-1", ami), ("us-east-1", copy["ImageId"]))
    ]
    assert [p["LaunchPermissions"] for p in permissions] == [[{"UserId": ACCOUNT}]] * 2
