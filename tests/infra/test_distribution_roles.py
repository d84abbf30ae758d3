"""A release's distribution (CONTRACT §13) as IAM decides it, for the bot's task role and a member account's role:
the copies, their tags and the accounts' permissions on bakery AMIs only, and the AMI key only through EBS's needs.

Decisions: tests/infra/iam_simulator.py (iam-simulate). The calls are ec2_sharing.py's; what EC2 checks on the caller
of an encrypted CopyImage is the Amazon EBS user guide's "Requirements for Amazon EBS encryption".
"""

from __future__ import annotations

import pytest

from tests.infra.cfn import ACCOUNT, PREFIX, REGION, role_statements
from tests.infra.test_member_account import MEMBER_PARAMETERS

IMAGE = f"arn:aws:ec2:{REGION}::image/ami-0123456789abcdef0"
SNAPSHOT = f"arn:aws:ec2:{REGION}::snapshot/snap-0123456789abcdef0"
COPY = "arn:aws:ec2:us-east-1::image/ami-0fedcba9876543210"  # the copy's region may be any
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALIAS = {"kms:ResourceAliases": [f"alias/{PREFIX}-ami"]}
TAGGED = {"aws:ResourceTag/bakery:image": "base"}
KEY_USE = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom",
           "kms:ReEncryptTo"]  # fmt: skip


@pytest.fixture(params=["bot-role", "member-account"])
def stem(request) -> str:
    return request.param


@pytest.fixture
def role(stem, templates) -> list[dict]:
    if stem == "bot-role":
        return role_statements(templates, "bot-role", "TaskRole")
    return role_statements(templates, "member-account", "BotRole", **MEMBER_PARAMETERS)


def test_the_bot_copies_tags_and_shares_bakery_amis(role, iam):
    for resource in (IMAGE, SNAPSHOT, COPY):
        assert iam.allowed(role, "ec2:CopyImage", resource), resource
        assert iam.allowed(role, "ec2:CreateTags", resource, **{"aws:RequestTag/bakery:image": "base"}), resource
    assert iam.allowed(role, "ec2:ModifyImageAttribute", IMAGE, **TAGGED)
    assert iam.allowed(role, "ec2:ModifyImageAttribute", COPY, **TAGGED)
    assert iam.allowed(role, "ec2:ModifySnapshotAttribute", SNAPSHOT, **TAGGED)


def test_an_image_or_snapshot_without_the_bakery_tag_is_neither_shared_nor_tagged(role, iam):
    assert not iam.allowed(role, "ec2:ModifyImageAttribute", IMAGE)
    assert not iam.allowed(role, "ec2:ModifyImageAttribute", IMAGE, **{"aws:ResourceTag/Name": "payroll"})
    assert not iam.allowed(role, "ec2:ModifySnapshotAttribute", SNAPSHOT)
    assert not iam.allowed(role, "ec2:CreateTags", IMAGE, **{"aws:RequestTag/Name": "payroll"})


def test_the_ami_key_is_used_as_ebs_needs_and_grants_only_for_aws_resources(stem, role, iam):
    # A member account's AMIs are encrypted with the bakery account's key (ami-key.yaml lets it use it).
    key = KEY.replace(ACCOUNT, MEMBER_PARAMETERS["BakeryAccountId"]) if stem == "member-account" else KEY
    for action in KEY_USE:
        assert iam.allowed(role, action, key, **ALIAS), action
    assert iam.allowed(role, "kms:CreateGrant", key, **ALIAS, **{"kms:GrantIsForAWSResource": True})
    assert not iam.allowed(role, "kms:CreateGrant", key, **ALIAS, **{"kms:GrantIsForAWSResource": False})
    assert not iam.allowed(role, "kms:Encrypt", key, **ALIAS)


def test_the_bot_roles_key_use_is_the_bakery_ami_key_alone(templates, iam):
    role = role_statements(templates, "bot-role", "TaskRole")
    other = {"kms:ResourceAliases": ["alias/payroll"]}
    for action in KEY_USE:
        assert not iam.allowed(role, action, KEY, **other), action
        assert not iam.allowed(role, action, KEY.replace(ACCOUNT, "333333333333"), **ALIAS), action
