"""A member account (CONTRACT section 13), as IAM decides it: the role the bot assumes there, its trust, the rule
that forwards the account's pipeline events, the bakery bus that takes them, and the AMI key they launch from.

Decisions: tests/infra/iam_simulator.py (iam-simulate), each request in the account that owns the resource.
The member role's requests are calls.json's `member_role`, held equal to the role's actions and to the bot's
own per-image calls (test_cloudformation.py's BOT_CALLS), so a call the bot makes for an image that the role
lacks, or a permission the bot never uses, fails here.
"""

from __future__ import annotations

import pytest

from tests.infra.cfn import ACCOUNT, PREFIX, REGION, render, role_statements
from tests.infra.conftest import ROOT
from tests.infra.test_cloudformation import (
    BOT_CALLS,
    CHECKED_BY_AUTO_SCALING,
    CHECKED_BY_EBS,
    CHECKED_BY_EC2_IMAGES,
    as_list,
)
from tests.infra.test_iam_calls import CALLS

MEMBER = "210987654321"
UNLISTED = "333333333333"
EXTERNAL_ID = "bakery-7f3e9c2a"
BAKERY_BOT = f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-bot"
MEMBER_ROLE = f"arn:aws:iam::{MEMBER}:role/{PREFIX}-bot"
BUS = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MEMBER_PARAMETERS = {
    "AWS::AccountId": MEMBER, "BakeryAccountId": ACCOUNT, "BakeryBotRoleArn": BAKERY_BOT, "ExternalId": EXTERNAL_ID,
}
# The calls the bot makes only in the bakery account: its queue, topic and state table, and the leak sweep.
BAKERY_ONLY = {
    "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes",
    "sns:GetTopicAttributes", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem", "dynamodb:Query", "dynamodb:DescribeTable",
    # The leak sweep (DescribeInstances is per image too: what runs an image's AMIs, §14).
    "ec2:DescribeKeyPairs", "ec2:DescribeSecurityGroups",
    "ec2:TerminateInstances", "ec2:DeleteKeyPair", "ec2:DeleteSecurityGroup",
    # The assumed-role adapter's own call, once the bot makes it (BOT_CALLS then lists it): made as the bakery's
    # task role, never as the member role.
    "sts:AssumeRole",
}  # fmt: skip


def principal_context(principal: str) -> dict[str, str]:
    """What AWS sets on every request of a principal (the simulator takes it as given, as any context key)."""
    return {"aws:PrincipalArn": principal, "aws:PrincipalAccount": principal.split(":")[4]}


def document(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def member_requests() -> list[dict]:
    values = {"region": REGION, "member": MEMBER, "prefix": PREFIX, "bakery": ACCOUNT}

    def fill(node):
        if isinstance(node, str):
            return node.format_map(values)
        if isinstance(node, dict):
            return {k: fill(v) for k, v in node.items()}
        return node

    return [fill(r) for r in CALLS["member_role"]["calls"]]


def member_role(templates) -> list[dict]:
    return role_statements(templates, "member-account", "BotRole", **MEMBER_PARAMETERS)


def decide_as_member_role(iam, statements: list[dict], request: dict) -> str:
    return iam.decide([document(*statements)], request["action"], request["resource"], principal=MEMBER_ROLE,
                      context={**principal_context(MEMBER_ROLE), **request.get("context", {})}, account=MEMBER)


# --- the role the bot assumes -----------------------------------------------------------------------------------


def test_the_member_role_allows_exactly_the_bots_per_image_calls(templates):
    actions = {a for s in member_role(templates) for a in as_list(s["Action"])}
    assert actions == (BOT_CALLS - BAKERY_ONLY) | CHECKED_BY_AUTO_SCALING | CHECKED_BY_EBS | CHECKED_BY_EC2_IMAGES


def test_the_member_calls_file_asks_for_every_action_of_the_role(templates):
    actions = {a for s in member_role(templates) for a in as_list(s["Action"])}
    assert {r["action"] for r in member_requests()} == actions


def test_every_call_the_bot_makes_for_a_member_image_is_allowed(templates, iam):
    statements = member_role(templates)
    denied = [(r["action"], r["resource"]) for r in member_requests()
              if decide_as_member_role(iam, statements, r) != "Allowed"]
    assert denied == []


@pytest.mark.parametrize(
    "sid", ["CommitBakeRequests", "FollowAndAnswerPipelines", "InstanceRefreshes", "CheckTheAmiKey"]
)
def test_a_call_missing_from_the_policy_is_denied(templates, iam, sid):
    statements = [s for s in member_role(templates) if s.get("Sid") != sid]
    denied = {r["action"] for r in member_requests() if decide_as_member_role(iam, statements, r) != "Allowed"}
    [dropped] = [s for s in member_role(templates) if s.get("Sid") == sid]
    assert denied == set(as_list(dropped["Action"]))


def test_an_untagged_target_and_another_prefixs_repository_are_denied(templates, iam):
    statements = member_role(templates)
    by_action = {r["action"]: r for r in member_requests()}
    untagged = [
        {**by_action["ec2:CreateLaunchTemplateVersion"], "context": {"aws:ResourceTag/bakery:rollout": "false"}},
        {**by_action["ec2:ModifyLaunchTemplate"], "context": {}},
        {**by_action["autoscaling:StartInstanceRefresh"], "context": {}},
        {**by_action["codecommit:CreateCommit"], "resource": f"arn:aws:codecommit:{REGION}:{MEMBER}:payroll"},
        {**by_action["codepipeline:PutApprovalResult"],
         "resource": f"arn:aws:codepipeline:{REGION}:{MEMBER}:payroll/Approve/Approve"},
        # `bakery check --aws` reads the bakery's AMI key, not another key of the account.
        {**by_action["kms:GetKeyPolicy"], "context": {"kms:ResourceAliases": "alias/payroll"}},
    ]
    assert [decide_as_member_role(iam, statements, r) for r in untagged] == ["ImplicitlyDenied"] * len(untagged)


# --- who may assume it --------------------------------------------------------------------------------------------


def assume(templates, iam, principal: str, **context: str) -> str:
    role = render(templates, "member-account", **MEMBER_PARAMETERS)["BotRole"]
    trust = role["Properties"]["AssumeRolePolicyDocument"]
    may_assume = document({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": MEMBER_ROLE})
    return iam.decide([may_assume], "sts:AssumeRole", MEMBER_ROLE, principal=principal,
                      context={**principal_context(principal), **context}, resource_policy=trust, account=MEMBER)


def test_the_bakery_bot_assumes_the_role_with_the_external_id(templates, iam):
    assert assume(templates, iam, BAKERY_BOT, **{"sts:ExternalId": EXTERNAL_ID}) == "Allowed"


@pytest.mark.parametrize(("principal", "context"), [
    (BAKERY_BOT, {}),
    (BAKERY_BOT, {"sts:ExternalId": "guessed"}),
    (f"arn:aws:iam::{UNLISTED}:role/{PREFIX}-bot", {"sts:ExternalId": EXTERNAL_ID}),
    (f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-web-pipeline", {"sts:ExternalId": EXTERNAL_ID}),
])
def test_anyone_else_or_without_the_external_id_is_refused(templates, iam, principal, context):
    assert assume(templates, iam, principal, **context) != "Allowed"


def test_the_external_id_is_never_echoed(templates):
    assert templates["member-account"]["Parameters"]["ExternalId"]["NoEcho"] is True


# --- the member's pipeline events reach the bakery bus, from listed accounts only ----------------------------------


def test_the_member_rule_forwards_the_bakerys_pattern_to_the_bakery_bus(templates):
    member = render(templates, "member-account", **MEMBER_PARAMETERS)["PipelineEventsRule"]["Properties"]
    bakery = render(templates, "notifications")["PipelineEventsRule"]["Properties"]
    # The bakery's rule also names the accounts it takes events from (the next test); the member's own bus
    # carries only the member's events.
    assert member["EventPattern"] == {k: v for k, v in bakery["EventPattern"].items() if k != "account"}
    [target] = member["Targets"]
    assert target["Arn"] == BUS
    assert target["RoleArn"] == "getatt:ForwardEventsRole.Arn"


@pytest.mark.parametrize(("listed", "accounts"), [
    ([""], [ACCOUNT]),
    ([MEMBER], [ACCOUNT, MEMBER]),
    ([MEMBER, "444444444444"], [ACCOUNT, MEMBER, "444444444444"]),
])
def test_the_bakery_rule_takes_events_of_its_own_and_the_listed_accounts_only(templates, listed, accounts):
    """A second guard behind the bus policy: it holds where a policy is not enforced (LocalStack,
    tests/infra/test_localstack.py) or was widened by hand."""
    rule = render(templates, "notifications", MemberAccounts=listed)["PipelineEventsRule"]["Properties"]
    assert rule["EventPattern"]["account"] == accounts


def put_events(templates, iam, sender: str, listed: list[str]) -> str:
    forwarder = render(templates, "member-account", **{**MEMBER_PARAMETERS, "AWS::AccountId": sender})
    [policy] = forwarder["ForwardEventsRole"]["Properties"]["Policies"]
    bus = render(templates, "notifications", MemberAccounts=listed)
    statement = bus["MemberAccountsEventBusPolicy"]["Properties"]["Statement"]
    role = f"arn:aws:iam::{sender}:role/{PREFIX}-forward-events"
    return iam.decide([policy["PolicyDocument"]], "events:PutEvents", BUS, principal=role,
                      context=principal_context(role), resource_policy=document(statement), account=ACCOUNT)


def test_a_listed_account_may_put_events_on_the_bakery_bus(templates, iam):
    assert put_events(templates, iam, MEMBER, [MEMBER, "444444444444"]) == "Allowed"


def test_an_unlisted_account_may_not(templates, iam):
    assert put_events(templates, iam, UNLISTED, [MEMBER]) != "Allowed"


def test_no_member_accounts_adds_no_bus_policy_and_no_key_statement(templates):
    assert "MemberAccountsEventBusPolicy" not in render(templates, "notifications")
    key = render(templates, "ami-key")["AmiKey"]["Properties"]["KeyPolicy"]
    assert [s["Sid"] for s in key["Statement"]] == ["AccountAdministersThroughIam"]


# --- the AMI key: member accounts launch from it -------------------------------------------------------------------


def use_key(templates, iam, account: str, action: str, **context) -> str:
    key_policy = render(templates, "ami-key", MemberAccounts=[MEMBER])["AmiKey"]["Properties"]["KeyPolicy"]
    principal = f"arn:aws:iam::{account}:role/fleet-admin"
    # The member's own IAM policy lets its principal use the key; the key's policy decides whether it may.
    identity = document({"Effect": "Allow", "Action": action, "Resource": KEY})
    return iam.decide([identity], action, KEY, principal=principal,
                      context={**principal_context(principal), **context}, resource_policy=key_policy, account=ACCOUNT)


@pytest.mark.parametrize("action", ["kms:Decrypt", "kms:ReEncryptFrom", "kms:GenerateDataKeyWithoutPlaintext",
                                    "kms:DescribeKey"])
def test_a_listed_account_uses_the_key_and_an_unlisted_one_does_not(templates, iam, action):
    assert use_key(templates, iam, MEMBER, action) == "Allowed"
    assert use_key(templates, iam, UNLISTED, action) != "Allowed"


AUTO_SCALING = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


@pytest.mark.parametrize(("account", "for_resource", "grantee", "decision"), [
    (MEMBER, True, f"arn:aws:iam::{MEMBER}:role/anything", "Allowed"),        # EC2 on the member's behalf
    (MEMBER, False, f"arn:aws:iam::{MEMBER}:{AUTO_SCALING}", "Allowed"),      # the README's one manual grant
    (MEMBER, False, f"arn:aws:iam::{MEMBER}:role/someone", "ImplicitlyDenied"),
    (MEMBER, False, f"arn:aws:iam::{UNLISTED}:{AUTO_SCALING}", "ImplicitlyDenied"),
    (UNLISTED, True, f"arn:aws:iam::{UNLISTED}:role/anything", "ImplicitlyDenied"),
])
def test_grants_only_for_aws_resources_or_to_the_members_own_auto_scaling_role(
    templates, iam, account, for_resource, grantee, decision
):
    context = {"kms:GrantIsForAWSResource": for_resource, "kms:GranteePrincipal": grantee}
    assert use_key(templates, iam, account, "kms:CreateGrant", **context) == decision


def test_the_key_is_customer_managed_and_rotated(templates):
    key = templates["ami-key"]["Resources"]["AmiKey"]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    assert key["Properties"].get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"  # EBS takes no other


# --- a member's approvals and bake results reach the topic -----------------------------------------------------------

TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:{PREFIX}-events"


def publish(templates, iam, role: str, listed: list[str]) -> tuple[str, str]:
    """(sns:Publish on the topic, the topic key's GenerateDataKey through SNS) for a role of another account."""
    made = render(templates, "notifications", MemberAccounts=listed, Topic=TOPIC)
    topic_policy = made["TopicPolicy"]["Properties"]["PolicyDocument"]
    key_policy = made["TopicKey"]["Properties"]["KeyPolicy"]
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0b0b0b0b-12ab-34cd-56ef-1234567890ab"
    identity = document({"Effect": "Allow", "Action": ["sns:Publish", "kms:GenerateDataKey", "kms:Decrypt"],
                         "Resource": [TOPIC, key]})
    context = {**principal_context(role), "aws:SecureTransport": True}
    sns = iam.decide([identity], "sns:Publish", TOPIC, principal=role, context=context,
                     resource_policy=topic_policy, account=ACCOUNT)
    kms = iam.decide([identity], "kms:GenerateDataKey", key, principal=role, resource_policy=key_policy,
                     context={**context, "kms:ViaService": f"sns.{REGION}.amazonaws.com"}, account=ACCOUNT)
    return sns, kms


def test_a_listed_accounts_pipeline_role_publishes_to_the_topic(templates, iam):
    role = f"arn:aws:iam::{MEMBER}:role/{PREFIX}-web-pipeline"
    assert publish(templates, iam, role, [MEMBER]) == ("Allowed", "Allowed")


@pytest.mark.parametrize(("role", "listed"), [
    (f"arn:aws:iam::{UNLISTED}:role/{PREFIX}-web-pipeline", [MEMBER]),
    (f"arn:aws:iam::{MEMBER}:role/payroll", [MEMBER]),
    (f"arn:aws:iam::{MEMBER}:role/{PREFIX}-web-pipeline", [""]),
])
def test_an_unlisted_account_or_another_role_does_not(templates, iam, role, listed):
    sns, kms = publish(templates, iam, role, listed)
    assert sns != "Allowed"
    if role.split(":")[4] != MEMBER or listed == [""]:
        assert kms != "Allowed"


# --- the bakery's AMIs are encrypted with that key -------------------------------------------------------------------


def test_the_bake_project_gives_packer_the_ami_key_and_the_bake_role_the_same_one(templates):
    projects = templates["build-projects"]["Resources"]
    for project in ("ValidateProject", "BakeProject"):  # the templates require it: validate checks it too
        environment = projects[project]["Properties"]["Environment"]
        variables = {v["Name"]: v["Value"] for v in environment["EnvironmentVariables"]}
        # The bakery's own key; a member account's projects name the bakery's by ARN (test_member_pipeline.py).
        assert variables["PKR_VAR_kms_key_id"] == {"Fn::If": [
            "HasAmiKeyArn", {"Ref": "AmiKeyArn"}, {"Fn::ImportValue": {"Fn::Sub": "${NamePrefix}:ami-key-arn"}},
        ]}
    assert templates["ami-key"]["Outputs"]["AmiKeyArn"]["Export"]["Name"] == {"Fn::Sub": "${NamePrefix}:ami-key-arn"}
    deploy = (ROOT / "infra" / "deploy.sh").read_text()
    assert "OutputKey=='AmiKeyArn'" in deploy and 'BuildKmsKeyArn="$AMI_KEY_ARN"' in deploy


def test_a_member_uses_the_topic_key_only_through_sns(templates, iam):
    key_policy = render(templates, "notifications", MemberAccounts=[MEMBER])["TopicKey"]["Properties"]["KeyPolicy"]
    role = f"arn:aws:iam::{MEMBER}:role/{PREFIX}-web-pipeline"
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0b0b0b0b-12ab-34cd-56ef-1234567890ab"
    identity = document({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key})
    direct = iam.decide([identity], "kms:Decrypt", key, principal=role, context=principal_context(role),
                        resource_policy=key_policy, account=ACCOUNT)
    assert direct == "ImplicitlyDenied"
