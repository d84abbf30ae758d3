"""A bake of an image in another account (CONTRACT §13), driven from outside through the running bot: its AMIs
are looked for in that account, through the role, and the bot's own account is never asked."""

from __future__ import annotations

import json
from typing import Any

import boto3

from bot.sandbox.aws.seed import register_ami
from tests.accounts.conftest import MEMBER, ROLE
from tests.fixtures.aws import ACCOUNT
from tests.fixtures.bakery import REQUESTER


def member_ec2() -> Any:
    credentials = boto3.client("sts").assume_role(RoleArn=ROLE, RoleSessionName="test-seed")["Credentials"]
    return boto3.client(
        "ec2",
        region_name="eu-west-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def in_member_account(text: str) -> str:
    """`base` moved to the member account (its repository is a git URL: the role does not touch it)."""
    line = "    pipeline: ami-bakery-base\n"
    return text.replace(line, f"{line}    account_role: {ROLE}\n")


def test_a_bake_in_a_member_account_finds_its_amis_there_and_not_in_the_bot_s(bakery_factory):
    bakery = bakery_factory(text=in_member_account)
    answer = bakery.command(REQUESTER, "base")["text"]
    assert "Bake `b-" in answer, answer
    rid = answer.split("`")[1]
    commit = bakery.commit_of(rid)  # committed to base's git repository as before
    tags = {"bakery:request-id": rid, "bakery:image": "base"}
    theirs = register_ami(member_ec2(), f"base-{rid}", tags)
    ours = register_ami(boto3.client("ec2", region_name="eu-west-1"), f"base-{rid}-own", tags)  # must be ignored
    bakery.run_pipeline("base", commit, account=MEMBER)  # no bake result: the bot looks the AMIs up by their tags

    def shown() -> str | None:
        message = bakery.bake_message(rid)
        text = json.dumps(message["blocks"]) if message else ""
        return text if theirs in text else None

    text = bakery.wait(shown, what="the member account's AMI on the bake message")
    assert ours not in text


def test_a_member_images_events_are_believed_only_from_its_account(bakery_factory):
    """§13: the same pipeline's events from the bakery's own account (or any other) advance nothing; from the
    member account they do."""
    bakery = bakery_factory(text=in_member_account)
    answer = bakery.command(REQUESTER, "base")["text"]
    rid = answer.split("`")[1]
    commit = bakery.commit_of(rid)
    for account in (ACCOUNT, "999999999999"):
        bakery.run_pipeline("base", commit, account=account, fail_stage="Validate")
    bakery.wait_idle()  # every forged event read and dropped
    message = json.dumps(bakery.bake_message(rid)["blocks"])
    assert "failed" not in message and "Validate" not in message, message  # nothing moved

    bakery.run_pipeline("base", commit, account=MEMBER, fail_stage="Validate")
    bakery.wait(lambda: "failed" in json.dumps(bakery.bake_message(rid)["blocks"]), what="the member's own events")


def test_the_bakerys_own_images_events_are_not_believed_from_a_member_account(bakery_factory):
    bakery = bakery_factory(text=in_member_account)  # web stays in the bakery's account
    answer = bakery.command(REQUESTER, "web")["text"]
    rid = answer.split("`")[1]
    commit = bakery.commit_of(rid)
    bakery.run_pipeline("web", commit, account=MEMBER, fail_stage="Validate")
    bakery.wait_idle()
    assert "failed" not in json.dumps(bakery.bake_message(rid)["blocks"])

    bakery.run_pipeline("web", commit, account=ACCOUNT, fail_stage="Validate")
    bakery.wait(lambda: "failed" in json.dumps(bakery.bake_message(rid)["blocks"]), what="web's own events")
