"""The fleet and the AMI lifecycle (CONTRACT §14) as IAM decides it, for the bot's task role and a member account's
role: what uses an AMI may be read, only bakery AMIs and their snapshots are deprecated, tagged `bakery:revoked` or
removed, and only the bakery's `/bakery/images` parameters are written or listed.

Decisions: tests/infra/iam_simulator.py (iam-simulate). The calls are ec2_lifecycle.py's, ec2_references.py's and
ssm_parameters.py's; what DescribeImageReferences reads as its caller is the EC2 user guide's ("Identify your
resources referencing specified AMIs": AmazonEC2ImageReferencesAccessPolicy).
"""

from __future__ import annotations

import pytest

from tests.infra.cfn import ACCOUNT, REGION, role_statements
from tests.infra.test_member_account import MEMBER, MEMBER_PARAMETERS

IMAGE = f"arn:aws:ec2:{REGION}::image/ami-0123456789abcdef0"
COPY = "arn:aws:ec2:us-east-1::image/ami-0fedcba9876543210"  # a share_with region's copy
SNAPSHOT = f"arn:aws:ec2:{REGION}::snapshot/snap-0123456789abcdef0"
TAGGED = {"aws:ResourceTag/bakery:image": "web"}
VIA_EC2 = {"aws:CalledVia": ["ec2-images.amazonaws.com"]}


@pytest.fixture(params=["bot-role", "member-account"])
def stem(request) -> str:
    return request.param


@pytest.fixture
def account(stem) -> str:
    return ACCOUNT if stem == "bot-role" else MEMBER


@pytest.fixture
def role(stem, templates) -> list[dict]:
    if stem == "bot-role":
        return role_statements(templates, "bot-role", "TaskRole")
    return role_statements(templates, "member-account", "BotRole", **MEMBER_PARAMETERS)


def parameter(account: str, name: str, region: str = REGION) -> str:
    return f"arn:aws:ssm:{region}:{account}:parameter{name}"


def test_what_uses_an_ami_may_be_read(role, iam):
    for action in ("ec2:DescribeImageReferences", "ec2:DescribeInstances", "ec2:DescribeLaunchTemplateVersions",
                   "ec2:DescribeSnapshots", "ec2:DescribeImages"):  # fmt: skip
        assert iam.allowed(role, action, "*"), action


def test_describe_image_references_reads_the_parameters_but_the_bot_itself_may_not(role, iam, account):
    value = parameter(account, "/payroll/db-password")
    assert iam.allowed(role, "ssm:DescribeParameters", "*", **VIA_EC2)
    assert iam.allowed(role, "ssm:GetParameters", value, **VIA_EC2)
    assert not iam.allowed(role, "ssm:DescribeParameters", "*")
    assert not iam.allowed(role, "ssm:GetParameters", value)
    assert not iam.allowed(role, "ssm:GetParameters", value, **{"aws:CalledVia": ["cloudformation.amazonaws.com"]})


def test_a_bakery_ami_and_its_snapshots_are_deprecated_revoked_and_removed(role, iam):
    for image in (IMAGE, COPY):
        assert iam.allowed(role, "ec2:EnableImageDeprecation", image, **TAGGED), image
        assert iam.allowed(role, "ec2:DeregisterImage", image, **TAGGED), image
        assert iam.allowed(role, "ec2:CreateTags", image, **TAGGED, **{"aws:TagKeys": ["bakery:revoked"]}), image
    assert iam.allowed(role, "ec2:DeleteSnapshot", SNAPSHOT, **TAGGED)


def test_an_ami_or_snapshot_without_the_bakery_tag_is_left_alone(role, iam):
    other = {"aws:ResourceTag/Name": "payroll"}
    assert not iam.allowed(role, "ec2:EnableImageDeprecation", IMAGE, **other)
    assert not iam.allowed(role, "ec2:DeregisterImage", IMAGE)
    assert not iam.allowed(role, "ec2:DeregisterImage", IMAGE, **other)
    assert not iam.allowed(role, "ec2:DeleteSnapshot", SNAPSHOT, **other)
    assert not iam.allowed(role, "ec2:CreateTags", IMAGE, **other, **{"aws:TagKeys": ["bakery:revoked"]})


def test_the_revocation_tag_writes_bakery_revoked_and_nothing_else(role, iam):
    # (A request carrying bakery:image itself is a copy's tags: test_distribution_roles.py's TagCopiedImages.)
    for keys in (["bakery:released"], ["bakery:revoked", "Name"], ["bakery:rollout"]):
        assert not iam.allowed(role, "ec2:CreateTags", IMAGE, **TAGGED, **{"aws:TagKeys": keys}), keys


def test_only_the_bakerys_image_parameters_are_written_and_listed(role, iam, account):
    latest = parameter(account, "/bakery/images/web/latest")
    assert iam.allowed(role, "ssm:PutParameter", latest)
    assert iam.allowed(role, "ssm:PutParameter", parameter(account, "/bakery/images/web/latest", "us-east-1"))
    assert iam.allowed(role, "ssm:GetParameter", latest)
    assert iam.allowed(role, "ssm:GetParametersByPath", parameter(account, "/bakery/images"))
    assert not iam.allowed(role, "ssm:PutParameter", parameter(account, "/bakery/secrets"))
    assert not iam.allowed(role, "ssm:PutParameter", f"arn:aws:ssm:{REGION}::parameter/aws/service/ami-x")
    assert not iam.allowed(role, "ssm:GetParametersByPath", parameter(account, "/bakery"))
    assert not iam.allowed(role, "ssm:GetParametersByPath", parameter(account, "/payroll"))
    other = "333333333333"
    assert not iam.allowed(role, "ssm:PutParameter", parameter(other, "/bakery/images/web/latest"))
