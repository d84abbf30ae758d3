"""A bake result is believed only as its image's account shows it (CONTRACT §13, §8.3): every member account can
publish to the bakery's topic, so a result naming a bake is checked in that bake's image's account, through its
role. Driven from outside: `base` lives in the member account, `web` in the bakery's own."""

from __future__ import annotations

from typing import Any

import boto3

from bot.sandbox.aws.seed import register_ami
from tests.accounts.conftest import MEMBER
from tests.accounts.test_member_bake import in_member_account, member_ec2
from tests.fixtures.aws import ACCOUNT
from tests.fixtures.bakery import REQUESTER, Bakery

STRANGER = "333333333333"


def ec2_in(account: str) -> Any:
    """An EC2 client acting in `account` (moto's STS gives credentials in the role's account)."""
    if account == ACCOUNT:
        return boto3.client("ec2", region_name="eu-west-1")
    if account == MEMBER:
        return member_ec2()
    role = f"arn:aws:iam::{account}:role/forger"
    found = boto3.client("sts").assume_role(RoleArn=role, RoleSessionName="forger")["Credentials"]
    return boto3.client(
        "ec2",
        region_name="eu-west-1",
        aws_access_key_id=found["AccessKeyId"],
        aws_secret_access_key=found["SecretAccessKey"],
        aws_session_token=found["SessionToken"],
    )


def bake_at_build(bakery: Bakery, image: str, account: str) -> tuple[str, str, str]:
    """A /bake of `image` whose pipeline (in `account`) is running its Bake stage: (request id, commit, execution)."""
    answer = bakery.command(REQUESTER, image)["text"]
    assert "Bake `b-" in answer, answer
    rid = answer.split("`")[1]
    commit = bakery.commit_of(rid)
    ex = bakery.start_execution(image, commit)
    bakery.deliver(bakery.event(ex, "STARTED", account=account))
    bakery.deliver(bakery.event(ex, "STARTED", "Bake", account=account))
    bakery.wait(lambda: bakery.services.bakes.get(rid).execution_id == ex, what="the execution tied to the bake")
    return rid, commit, ex


def amis_of(bakery: Bakery, rid: str) -> list[str]:
    return [a.ami_id for a in bakery.services.bakes.get(rid).amis]


def tags(rid: str, image: str) -> dict[str, str]:
    return {"bakery:request-id": rid, "bakery:image": image}


def test_a_member_s_forged_result_for_the_bakery_s_own_image_changes_nothing(bakery_factory):
    bakery = bakery_factory(text=in_member_account)
    rid, commit, ex = bake_at_build(bakery, "web", ACCOUNT)
    forged = register_ami(ec2_in(MEMBER), f"web-{rid}", tags(rid, "web"))  # exists, but in the forger's account
    bakery.deliver(bakery.result(ex, rid, commit, [("eu-west-1", forged)], account=MEMBER))
    bakery.deliver(bakery.result(ex, rid, commit, [("eu-west-1", forged)], account=ACCOUNT))  # lying about it
    bakery.wait_idle()
    assert amis_of(bakery, rid) == []

    genuine = register_ami(ec2_in(ACCOUNT), f"web-{rid}", tags(rid, "web"))
    bakery.deliver(bakery.result(ex, rid, commit, [("eu-west-1", genuine)], account=ACCOUNT))
    bakery.wait(lambda: amis_of(bakery, rid) == [genuine], what="the genuine result applied")


def test_a_result_for_a_member_image_is_believed_only_from_an_ami_in_that_member_s_account(bakery_factory):
    bakery = bakery_factory(text=in_member_account)
    rid, commit, ex = bake_at_build(bakery, "base", MEMBER)
    for forger in (ACCOUNT, STRANGER):  # the bakery's own account, and another member's
        forged = register_ami(ec2_in(forger), f"base-{rid}", tags(rid, "base"))
        bakery.deliver(bakery.result(ex, rid, commit, [("eu-west-1", forged)], account=MEMBER))
    bakery.wait_idle()
    assert amis_of(bakery, rid) == []

    genuine = register_ami(ec2_in(MEMBER), f"base-{rid}", tags(rid, "base"))
    bakery.deliver(bakery.result(ex, rid, commit, [("eu-west-1", forged), ("eu-west-1", genuine)], account=MEMBER))
    bakery.wait(lambda: amis_of(bakery, rid) == [genuine], what="only the member's own AMI kept")


def test_a_result_naming_an_ami_tagged_for_another_request_or_image_is_refused(bakery_factory):
    bakery = bakery_factory(text=in_member_account)
    rid, commit, ex = bake_at_build(bakery, "base", MEMBER)
    other_request = register_ami(ec2_in(MEMBER), "base-other", tags("b-0ther0", "base"))
    other_image = register_ami(ec2_in(MEMBER), "web-other", tags(rid, "web"))
    bakery.deliver(bakery.result(ex, rid, commit, [("eu-west-1", other_request)], account=MEMBER))
    bakery.deliver(bakery.result(ex, rid, commit, [("eu-west-1", other_image)], account=MEMBER))
    genuine = register_ami(ec2_in(MEMBER), f"base-{rid}", tags(rid, "base"))
    bakery.deliver(bakery.result(ex, rid, commit, [("eu-west-1", genuine)], account=ACCOUNT))  # not its account
    bakery.wait_idle()
    assert amis_of(bakery, rid) == []

    bakery.deliver(bakery.result(ex, rid, commit, [("eu-west-1", genuine)], account=MEMBER))
    bakery.wait(lambda: amis_of(bakery, rid) == [genuine], what="the result whose AMI is this bake's")
