"""`bakery check --aws` and the bakery's AMI key (CONTRACT §13): in each region an image's AMIs must be usable in,
the key is there, in the image's account, and its policy lets every listed account use it and create grants for
AWS resources. Keys live in moto (two accounts, two regions), their policies rendered from ami-key.yaml."""

from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

import pytest
from cfnlint.decode import decode

from bot.adapters.aws.preflight import check_aws
from bot.config import Environment, parse_config
from bot.sandbox.aws.fake_codepipeline import FakeCodePipeline
from bot.wiring.adapters import Clients
from tests.accounts.conftest import MEMBER, ROLE
from tests.fixtures.aws import ACCOUNT, new_session
from tests.infra.cfn import render
from tests.infra.conftest import TEMPLATE_DIR

OTHER = "333333333333"
ALIAS = "alias/ami-bakery-ami"
SHARED = f"""
slack: {{channel: C0BAKERY}}
images:
  base:
    repository: /tmp/unused-base.git
    pipeline: ami-bakery-base
    region: eu-west-1
    share_with: {{accounts: ["{MEMBER}", "{OTHER}"], regions: [eu-west-1, us-east-1]}}
"""
MEMBER_IMAGE = f"""
slack: {{channel: C0BAKERY}}
images:
  web:
    repository: /tmp/unused-web.git
    pipeline: ami-bakery-web
    region: eu-west-1
    account_role: {ROLE}
    share_with: {{accounts: ["{ACCOUNT}"], regions: [us-east-1]}}
"""


def key_policy(members: list[str], owner: str = ACCOUNT) -> dict[str, Any]:
    """ami-key.yaml's key policy as CloudFormation makes it in `owner` for these MemberAccounts."""
    template, problems = decode(str(TEMPLATE_DIR / "ami-key.yaml"))
    assert not problems
    made = render({"ami-key": template}, "ami-key", MemberAccounts=members, **{"AWS::AccountId": owner})
    policy: dict[str, Any] = made["AmiKey"]["Properties"]["KeyPolicy"]
    return policy


def make_key(kms: Any, policy: dict[str, Any], alias: str = ALIAS) -> str:
    key = kms.create_key(Policy=json.dumps(policy), Description="ami-bakery AMIs")["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    return str(key["Arn"])


@pytest.fixture
def own(moto: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    fake = FakeCodePipeline().start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEPIPELINE", fake.endpoint)
    fake.add_pipeline("ami-bakery-base")
    fake.add_pipeline("ami-bakery-web")
    yield new_session()
    fake.stop()


def check(text: str, session: Any, env: Environment | None = None) -> list[str]:
    return check_aws(parse_config(text), env or Environment(aws_region="eu-west-1"), session=session)


def test_a_key_granting_both_accounts_in_both_regions_is_clean(own):
    for region in ("eu-west-1", "us-east-1"):
        make_key(own.client("kms", region_name=region), key_policy([MEMBER, OTHER]))
    assert check(SHARED, own) == []


def test_an_account_the_key_policy_does_not_list_is_named_with_what_it_lacks(own):
    for region in ("eu-west-1", "us-east-1"):
        make_key(own.client("kms", region_name=region), key_policy([MEMBER]))
    lacks = (
        "kms:Decrypt; kms:ReEncryptFrom; kms:ReEncryptTo; kms:GenerateDataKey; kms:GenerateDataKeyWithoutPlaintext;"
        " kms:DescribeKey; kms:CreateGrant with kms:GrantIsForAWSResource true"
    )
    assert check(SHARED, own) == [
        f"images.base.share_with.accounts[1]: the bakery key {ALIAS} in {region} does not grant {OTHER}: {lacks}"
        for region in ("eu-west-1", "us-east-1")
    ]


def test_a_region_without_the_key_is_named(own):
    make_key(own.client("kms", region_name="eu-west-1"), key_policy([MEMBER, OTHER]))
    assert check(SHARED, own) == [
        f"images.base.share_with.regions[1]: no bakery key {ALIAS} in us-east-1 (the bakery's account)"
    ]


def test_a_key_under_another_alias_is_not_the_bakery_s_unless_the_environment_names_it(own):
    for region in ("eu-west-1", "us-east-1"):
        make_key(own.client("kms", region_name=region), key_policy([MEMBER, OTHER]), alias="alias/acme-ami")
    assert len(check(SHARED, own)) == 2
    env = Environment.from_environ({"AWS_REGION": "eu-west-1", "BAKERY_AMI_KEY_ALIAS": "alias/acme-ami"})
    assert check(SHARED, own, env) == []


def test_create_grant_without_the_aws_resource_condition_is_named(own):
    policy = key_policy([MEMBER, OTHER])
    for statement in policy["Statement"]:
        if statement.get("Sid") == "MemberAccountsGrantForAwsResources":
            del statement["Condition"]["Bool"]
    without = deepcopy(policy)
    without["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "MemberAccountsGrantForAwsResources"]
    make_key(own.client("kms", region_name="eu-west-1"), policy)
    make_key(own.client("kms", region_name="us-east-1"), without)
    broad = "kms:CreateGrant limited by the condition kms:GrantIsForAWSResource true (it is allowed without)"
    # What is left grants only to the member's Auto Scaling role, a grantee the check cannot know for EC2's grants.
    absent = (
        "kms:CreateGrant with kms:GrantIsForAWSResource true (only under a condition on kms:GranteePrincipal the"
        " check cannot evaluate)"
    )
    assert check(SHARED, own) == [
        f"images.base.share_with.accounts[0]: the bakery key {ALIAS} in eu-west-1 does not grant {MEMBER}: {broad}",
        f"images.base.share_with.accounts[1]: the bakery key {ALIAS} in eu-west-1 does not grant {OTHER}: {broad}",
        f"images.base.share_with.accounts[0]: the bakery key {ALIAS} in us-east-1 does not grant {MEMBER}: {absent}",
        f"images.base.share_with.accounts[1]: the bakery key {ALIAS} in us-east-1 does not grant {OTHER}: {absent}",
    ]


def test_a_deny_for_the_account_overrides_its_allow(own):
    policy = key_policy([MEMBER, OTHER])
    policy["Statement"].append(
        {"Sid": "NoDecryptForOther", "Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:role/fleet"},
         "Action": "kms:Decrypt", "Resource": "*"}
    )
    for region in ("eu-west-1", "us-east-1"):
        make_key(own.client("kms", region_name=region), policy)
    problems = check(SHARED, own)
    assert problems == [
        f"images.base.share_with.accounts[1]: the bakery key {ALIAS} in {region} does not grant {OTHER}:"
        " kms:Decrypt (denied by statement NoDecryptForOther)"
        for region in ("eu-west-1", "us-east-1")
    ]


def test_a_member_image_s_key_is_looked_for_in_its_own_account_through_its_role(own):
    member = Clients(own, "eu-west-1")
    web = parse_config(MEMBER_IMAGE).images["web"]
    # The bakery's own account has a key in both regions: not the one the member's AMIs are encrypted with.
    for region in ("eu-west-1", "us-east-1"):
        make_key(own.client("kms", region_name=region), key_policy([MEMBER]))
    make_key(member.of("kms", web), key_policy([ACCOUNT], owner=MEMBER))
    assert check(MEMBER_IMAGE, own) == [
        f"images.web.share_with.regions[0]: no bakery key {ALIAS} in us-east-1 (account {MEMBER})"
    ]
    make_key(member.of("kms", parse_config(MEMBER_IMAGE).where("web", "us-east-1")), key_policy([], owner=MEMBER))
    [problem] = check(MEMBER_IMAGE, own)
    assert problem.startswith(
        f"images.web.share_with.accounts[0]: the bakery key {ALIAS} in us-east-1 does not grant {ACCOUNT}: kms:Decrypt;"
    )


def test_a_member_image_copies_with_the_bakery_s_key_which_must_grant_its_account_too(own):
    """With the bakery's account known (its queue), a release's copies of a member image are encrypted with the
    bakery account's key (bot/trains/distribution.py): that key is the one checked, for the member too."""
    queue = own.client("sqs").create_queue(QueueName="ami-bakery-events")["QueueUrl"]  # names the bakery's account
    known = MEMBER_IMAGE.replace(
        "images:", f"notifications: {{queue_url: '{queue}'}}\nimages:", 1
    ).replace(f'accounts: ["{ACCOUNT}"]', f'accounts: ["{OTHER}"]')
    web = parse_config(known).images["web"]
    make_key(Clients(own, "eu-west-1").of("kms", web), key_policy([OTHER], owner=MEMBER))  # the member's: not it
    assert check(known, own) == [
        f"images.web.region: no bakery key {ALIAS} in eu-west-1 (the bakery's account)",
        f"images.web.share_with.regions[0]: no bakery key {ALIAS} in us-east-1 (the bakery's account)",
    ]
    for region in ("eu-west-1", "us-east-1"):
        make_key(own.client("kms", region_name=region), key_policy([OTHER]))
    assert [p.split(":")[0] for p in check(known, own)] == ["images.web.account_role"] * 2
    for region in ("eu-west-1", "us-east-1"):
        kms = own.client("kms", region_name=region)
        key = kms.describe_key(KeyId=ALIAS)["KeyMetadata"]["KeyId"]
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(key_policy([MEMBER, OTHER])))
    assert check(known, own) == []


# --- the policy as AWS reads it ---------------------------------------------------------------------------------

KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
GRANT_FOR_RESOURCES = {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: Any, action: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*", **extra}


@pytest.mark.parametrize(
    "principal",
    [{"AWS": f"arn:aws:iam::{MEMBER}:root"}, {"AWS": MEMBER}, {"AWS": [OTHER, MEMBER]}, "*", {"AWS": "*"}],
)
def test_every_principal_form_naming_the_account_grants_it(principal):
    from bot.adapters.aws.key_policy import shortfalls

    granted = policy(
        allow(principal, ["kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]),
        allow(principal, "kms:CreateGrant", Condition=GRANT_FOR_RESOURCES),
    )
    assert shortfalls(granted, MEMBER, KEY) == []
    assert shortfalls(granted, "444444444444", KEY) == ([] if "*" in str(principal) else shortfalls(policy(), "4", KEY))


def test_a_role_of_the_account_is_not_the_account_and_a_service_is_no_one():
    from bot.adapters.aws.key_policy import shortfalls

    role = policy(allow({"AWS": f"arn:aws:iam::{MEMBER}:role/fleet"}, "kms:*"))
    service = policy(allow({"Service": "ec2.amazonaws.com"}, "kms:*"))
    assert len(shortfalls(role, MEMBER, KEY)) == 7
    assert len(shortfalls(service, MEMBER, KEY)) == 7


def test_wildcards_not_action_and_the_accounts_condition_are_read_as_aws_reads_them():
    from bot.adapters.aws.key_policy import shortfalls

    member = {"AWS": MEMBER}
    by_member = {"StringEquals": {"kms:CallerAccount": MEMBER}}
    uses = {"Effect": "Allow", "Principal": member, "NotAction": "kms:CreateGrant", "Resource": "*",
            "Condition": by_member}
    grants = allow(member, "kms:Create*", Condition={**by_member, **GRANT_FOR_RESOURCES})
    assert shortfalls(policy(uses, grants), MEMBER, KEY) == []
    # kms:* without the condition: CreateGrant is not limited to AWS resources.
    assert shortfalls(policy(allow(member, "KMS:*")), MEMBER, KEY) == [
        "kms:CreateGrant limited by the condition kms:GrantIsForAWSResource true (it is allowed without)"
    ]
    # NotAction: everything but what it names.
    not_decrypt = {"Effect": "Allow", "Principal": member, "NotAction": ["kms:Decrypt", "kms:Create*"], "Resource": "*"}
    assert shortfalls(policy(not_decrypt), MEMBER, KEY) == [
        "kms:Decrypt", "kms:CreateGrant with kms:GrantIsForAWSResource true"
    ]
    # kms:ReEncryptFrom alone is not kms:ReEncrypt*; the account's condition for another account fails.
    partial = allow(member, ["kms:Decrypt", "kms:ReEncryptFrom", "kms:GenerateDataKey*", "kms:DescribeKey"])
    assert shortfalls(policy(partial), MEMBER, KEY)[0] == "kms:ReEncryptTo"
    elsewhere = {"StringEquals": {"aws:PrincipalAccount": OTHER}}
    assert len(shortfalls(policy(allow(member, "kms:*", Condition=elsewhere)), MEMBER, KEY)) == 7
    # A resource that is another key grants nothing on this one.
    assert len(shortfalls(policy({**allow(member, "kms:*"), "Resource": KEY[:-1] + "f"}), MEMBER, KEY)) == 7


def test_a_deny_under_a_condition_the_check_cannot_know_is_told_as_one_that_may_apply():
    from bot.adapters.aws.key_policy import shortfalls

    granted = allow({"AWS": MEMBER}, "kms:*", Condition={"Null": {"aws:PrincipalOrgID": "false"}})
    outside_org = {"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
                   "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}}}
    missing = shortfalls(policy(granted, outside_org), MEMBER, KEY)
    assert missing[0] == "kms:Decrypt (denied by statement 1, under a condition on aws:PrincipalOrgID)"
    # ... and an Allow under such a condition proves nothing (in an organisation: a key the check cannot know).
    assert len(missing) == 7
    undecided = "(only under a condition on aws:PrincipalOrgID the check cannot evaluate)"
    assert all(m.endswith(undecided) for m in missing[1:])
