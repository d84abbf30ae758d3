"""The sandbox's second account (CONTRACT §9, §13), driven from outside: `web` and `web-prod` live in 210987654321,
reached by the bot through an assumed role; `base` stays in the bakery's account and shares with it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from bot.sandbox.config import EXTERNAL_ID, MEMBER_ACCOUNT, MEMBER_ROLE, MEMBER_ROLE_NAME
from tests.sandbox.sandbox_process import APPROVER, REQUESTER, SandboxProcess, blocks_text, request_id_of

pytestmark = pytest.mark.slow

BAKERY_ACCOUNT = "123456789012"
DEPLOYER = "U0BOB"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxProcess]:
    box = SandboxProcess()
    try:
        # Every message on the bakery's topic, copied to a queue of the test's own (as a second subscriber).
        sqs, sns = box.aws("sqs"), box.aws("sns")
        box.spy = sqs.create_queue(QueueName="spy")["QueueUrl"]  # type: ignore[attr-defined]
        arn = sqs.get_queue_attributes(QueueUrl=box.spy, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]  # type: ignore[attr-defined]
        topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":ami-bakery-events"))
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        yield box
    finally:
        code = box.stop()
        assert code == 0, "".join(box.stderr[-30:])


def published(sandbox: SandboxProcess) -> list[dict]:
    sqs, out = sandbox.aws("sqs"), []
    while batch := sqs.receive_message(QueueUrl=sandbox.spy, MaxNumberOfMessages=10).get("Messages", []):  # type: ignore[attr-defined]
        out += [json.loads(m["Body"]) for m in batch]
        sqs.delete_message_batch(
            QueueUrl=sandbox.spy,  # type: ignore[attr-defined]
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )
    return out


def click_when_shown(sandbox: SandboxProcess, user: str, action_id: str, where: str) -> None:
    message = sandbox.wait(
        lambda: next((m for m in sandbox.messages() if action_id in blocks_text(m) and not m["ephemeral_to"]), None),
        what=where,
    )
    status, _ = sandbox.click(user, message["ts"], action_id)
    assert status == 200


def test_the_page_says_where_each_image_lives(sandbox):
    accounts = {i["name"]: i["account"] for i in sandbox.get("/api/info")["images"]}  # the sidebar shows them
    assert accounts == {"base": BAKERY_ACCOUNT, "web": MEMBER_ACCOUNT}
    welcome = blocks_text(sandbox.messages()[0])
    assert f"*web* and *web-prod* live in account `{MEMBER_ACCOUNT}`" in welcome


def test_web_bakes_in_the_member_account_and_web_prod_rolls_there(sandbox):
    rid = request_id_of(sandbox.command(REQUESTER, "web in the member account"))
    click_when_shown(sandbox, APPROVER, "bake_approve", "web's approval card")
    click_when_shown(sandbox, DEPLOYER, "rollout_approve", "the automatic rollout of web-prod, gated")
    done = sandbox.wait(
        lambda: (m := sandbox.bake_message(rid)) and "*web-prod* runs this AMI since" in blocks_text(m) and m,
        timeout=60,
        what="web-prod to run the new web AMI",
    )
    # The page says which account the AMI is in.
    [(ami, account)] = re.findall(r"`(ami-[0-9a-f]+)` \(eu-west-1, (\d{12})\)", blocks_text(done))
    assert account == MEMBER_ACCOUNT

    member = sandbox.aws("ec2", role=MEMBER_ROLE)
    [image] = member.describe_images(ImageIds=[ami])["Images"]
    assert image["OwnerId"] == MEMBER_ACCOUNT and {"Key": "bakery:request-id", "Value": rid} in image["Tags"]
    with pytest.raises(ClientError, match="InvalidAMIID.NotFound"):
        sandbox.aws("ec2").describe_images(ImageIds=[ami])  # the bakery's own account has no such AMI
    [version] = member.describe_launch_template_versions(LaunchTemplateName="web-prod", Versions=["$Default"])[
        "LaunchTemplateVersions"
    ]
    assert version["LaunchTemplateData"]["ImageId"] == ami
    with pytest.raises(ClientError, match="InvalidLaunchTemplateName.NotFoundException"):
        sandbox.aws("ec2").describe_launch_template_versions(LaunchTemplateName="web-prod")
    latest = sandbox.aws("ssm", role=MEMBER_ROLE).get_parameter(Name="/bakery/images/web/latest")["Parameter"]
    assert latest["Value"] == ami

    # What web's pipeline said, it said from its own account, as EventBridge and its build would.
    messages = published(sandbox)
    events = [m for m in messages if m.get("source") == "aws.codepipeline"]
    web = {m["account"] for m in events if m["detail"]["pipeline"] == "ami-bakery-web"}
    assert web == {MEMBER_ACCOUNT}, web
    [result] = [m for m in messages if m.get("type") == "bakery.bake-result" and m["request_id"] == rid]
    assert [(a["ami_id"], a["account_id"]) for a in result["amis"]] == [(ami, MEMBER_ACCOUNT)]

    # The bot (with the bakery's own keys) moved the member's launch template: through the member role, whose
    # trust policy names the bakery and the external id.
    role = sandbox.aws("iam", role=MEMBER_ROLE).get_role(RoleName=MEMBER_ROLE_NAME)["Role"]
    [statement] = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{BAKERY_ACCOUNT}:root"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}


def test_a_source_ami_the_member_account_may_not_launch_fails_the_bake_as_on_aws(sandbox):
    ec2 = sandbox.aws("ec2")  # an AMI of the bakery's account, shared with nobody
    ami = ec2.register_image(Name="not-shared", RootDeviceName="/dev/xvda", VirtualizationType="hvm")["ImageId"]

    rid = request_id_of(sandbox.command(REQUESTER, f"web --force source_ami={ami} on an AMI not shared"))
    failed = sandbox.wait(
        lambda: (m := sandbox.bake_message(rid)) and "failed" in m["text"] and m, what="the bake to fail"
    )
    assert "*Bake* failed" in blocks_text(failed)
    sandbox.wait(
        lambda: any(
            f"The image id '[{ami}]' does not exist" in m["text"] + blocks_text(m) for m in sandbox.thread(failed["ts"])
        ),
        what="AWS's answer in the bake's thread",
    )

    # Once base's account grants the member account its launch permission, the same bake gets past Bake.
    ec2.modify_image_attribute(ImageId=ami, LaunchPermission={"Add": [{"UserId": MEMBER_ACCOUNT}]})
    rid = request_id_of(sandbox.command(REQUESTER, f"web --force source_ami={ami} now shared"))
    sandbox.wait(
        lambda: (m := sandbox.bake_message(rid)) and "*Bake* succeeded" in blocks_text(m), what="Bake to succeed"
    )
