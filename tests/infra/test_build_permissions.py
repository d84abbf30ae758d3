"""The build roles may make the calls the buildspecs and Packer make, on the resources and conditions they make them.

Each template is resolved for one account, region and image (tests/infra/cfn.py), and each request is decided by
AWS's evaluation logic (npm @cloud-copilot/iam-simulate, tests/infra/iam_simulator.py), which honours Resource and
Condition and refuses a request AWS's service reference would not recognise. moto's IAM enforcement ignores
Resource and Condition, so it could not tell these apart. tests/infra/test_iam_calls.py checks every call the
buildspecs, scripts and Packer make; these are the findings' own cases, with what must stay refused.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.infra.cfn import (
    ACCOUNT,
    AL2023,
    GET_ATT,
    IMPORTS,
    KEY_ARN,
    OTHER_KEY_ARN,
    PREFIX,
    REGION,
    ec2,
    role_statements,
)
from tests.infra.conftest import ROOT


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, *, case: bool = True) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


# --- the evaluator honours Resource and Condition (what moto's IAM enforcement ignores) ----------------------


def test_the_evaluator_honours_resource_and_condition(iam):
    statements = [{"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": ec2("key-pair/packer_*"),
                   "Condition": {"StringEquals": {"ec2:CreateAction": "CreateKeyPair"}}}]
    on_create = {"ec2:CreateAction": "CreateKeyPair"}
    assert iam.allowed(statements, "ec2:createtags", ec2("key-pair/packer_1"), **on_create)
    assert not iam.allowed(statements, "ec2:CreateTags", ec2("key-pair/mine"), **on_create)
    at_launch = {"ec2:CreateAction": "RunInstances"}
    assert not iam.allowed(statements, "ec2:CreateTags", ec2("key-pair/packer_1"), **at_launch)
    assert not iam.allowed(statements, "ec2:CreateTags", ec2("key-pair/packer_1"))
    deny = {**statements[0], "Effect": "Deny"}
    assert not iam.allowed([*statements, deny], "ec2:CreateTags", ec2("key-pair/packer_1"), **on_create)


def test_the_evaluator_refuses_a_request_aws_would_not_recognise(iam):
    statements = [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]
    with pytest.raises(AssertionError):
        iam.allowed(statements, "ec2:CreateKeyPairs", ec2("key-pair/packer_1"))  # no such action
    with pytest.raises(AssertionError):
        iam.allowed(statements, "ec2:CreateKeyPair", f"arn:aws:s3:::{PREFIX}-artifacts/x")  # not a key pair's ARN


# --- finding 2: Validate reads the source-AMI parameters -----------------------------------------------------


def test_validate_may_read_exactly_the_source_ami_parameters_it_resolves(templates, iam):
    validate = yaml.safe_load((ROOT / "buildspec-validate.yml").read_text())
    assert validate["env"]["variables"]["SOURCE_AMI_PARAMETER"] == AL2023
    assert any("aws ssm get-parameter" in c for c in validate["phases"]["build"]["commands"])
    role = role_statements(templates, "build-roles", "ValidateRole")
    public = f"arn:aws:ssm:{REGION}::parameter{AL2023}"
    assert iam.allowed(role, "ssm:GetParameter", public)
    assert iam.allowed(role, "ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/bakery/images/base/latest")
    # Nothing else: not the bot's configuration, not another public parameter, not a write.
    assert not iam.allowed(role, "ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/bakery/config")
    assert not iam.allowed(role, "ssm:GetParameter", f"arn:aws:ssm:{REGION}::parameter/aws/service/ecs/optimized-ami")
    parent = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/bakery/images/base/latest"
    assert not iam.allowed(role, "ssm:PutParameter", parent)


# --- finding 3: Packer tags its temporary key pair at creation -----------------------------------------------


def test_packer_may_tag_its_temporary_key_pair_when_it_creates_it(templates, iam):
    role = role_statements(templates, "build-roles", "BakeRole")
    key = ec2("key-pair/packer_6530c4a6-1b4e-4f2e-9a43-3c1d0a3f6b7e")
    on_create = {"ec2:CreateAction": "CreateKeyPair"}
    assert iam.allowed(role, "ec2:CreateKeyPair", key)
    assert iam.allowed(role, "ec2:CreateTags", key, **on_create)
    # Only Packer's keys, only while creating them, and instances still only at launch.
    assert not iam.allowed(role, "ec2:CreateTags", ec2("key-pair/someone-elses"), **on_create)
    assert not iam.allowed(role, "ec2:CreateTags", key)
    assert not iam.allowed(role, "ec2:CreateTags", ec2("instance/i-0123456789abcdef0"), **on_create)
    at_launch = {"ec2:CreateAction": "RunInstances"}
    assert iam.allowed(role, "ec2:CreateTags", ec2("instance/i-0123456789abcdef0"), **at_launch)
    assert iam.allowed(role, "ec2:CreateTags", ec2("volume/vol-0123456789abcdef0"), **at_launch)


def test_the_key_pairs_tags_are_the_run_tags_packer_sends(templates):
    # step_key_pair.go tags the key with the builder's run_tags; the bake sets them.
    for image in ("base", "web"):
        assert "run_tags" in (ROOT / "packer" / "images" / image / f"{image}.pkr.hcl").read_text()


# --- finding 4: Packer checks the build instance's profile ---------------------------------------------------


def test_packer_may_check_the_build_instance_profile_and_no_other(templates, iam):
    role = role_statements(templates, "build-roles", "BakeRole")
    profile = GET_ATT[("BuildInstanceProfile", "Arn")]
    assert iam.allowed(role, "iam:GetInstanceProfile", profile)
    assert not iam.allowed(role, "iam:GetInstanceProfile", f"arn:aws:iam::{ACCOUNT}:instance-profile/admin")
    passed_to_ec2 = {"iam:PassedToService": "ec2.amazonaws.com"}
    assert iam.allowed(role, "iam:PassRole", GET_ATT[("BuildInstanceRole", "Arn")], **passed_to_ec2)


# --- finding 5: the pipeline's CodeCommit source with a clone output -----------------------------------------


def test_the_pipeline_may_get_its_repository_for_the_clone_output(templates, iam):
    [source] = templates["image"]["Resources"]["Pipeline"]["Properties"]["Stages"][0]["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeCommit"
    assert source["Configuration"]["OutputArtifactFormat"] == "CODEBUILD_CLONE_REF"
    role = role_statements(templates, "image", "PipelineRole")
    repository = GET_ATT[("Repository", "Arn")]
    for action in ("GetRepository", "GetBranch", "GetCommit", "UploadArchive", "GetUploadArchiveStatus"):
        assert iam.allowed(role, f"codecommit:{action}", repository), action
    assert not iam.allowed(role, "codecommit:GetRepository", f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{PREFIX}-base")


# --- finding 10: a customer-managed key for the build volumes and AMIs ---------------------------------------

KMS_USE = ("kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo",
           "kms:DescribeKey")


def test_without_a_build_key_the_bake_role_gets_no_kms_grant(templates, iam):
    role = role_statements(templates, "build-roles", "BakeRole")
    assert not iam.allowed(role, "kms:CreateGrant", KEY_ARN, **{"kms:GrantIsForAWSResource": True})
    for action in KMS_USE:
        assert not iam.allowed(role, action, KEY_ARN), action
    # Nor on any other key: whatever grants these actions names only the topic's key (kms:GenerateDataKey*).
    topic_key = IMPORTS[f"{PREFIX}:topic-key-arn"]
    for action in ("kms:CreateGrant", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptTo", "kms:DescribeKey"):
        granting = [s for s in role if any(_wildcard(a, action, case=False) for a in _as_list(s["Action"]))]
        assert all(_as_list(s["Resource"]) == [topic_key] for s in granting), (action, granting)


def test_with_a_build_key_the_bake_role_uses_that_key_for_aws_resources_only(templates, iam):
    role = role_statements(templates, "build-roles", "BakeRole", BuildKmsKeyArn=KEY_ARN)
    assert iam.allowed(role, "kms:CreateGrant", KEY_ARN, **{"kms:GrantIsForAWSResource": True})
    assert not iam.allowed(role, "kms:CreateGrant", KEY_ARN, **{"kms:GrantIsForAWSResource": False})
    assert not iam.allowed(role, "kms:CreateGrant", KEY_ARN)
    for action in KMS_USE:
        assert iam.allowed(role, action, KEY_ARN), action
        assert not iam.allowed(role, action, OTHER_KEY_ARN), action
    assert not iam.allowed(role, "kms:Encrypt", KEY_ARN)


@pytest.mark.parametrize("value", ["", KEY_ARN])
def test_the_build_key_parameter_accepts_an_empty_value_or_a_key_arn(templates, value):
    parameter = templates["build-roles"]["Parameters"]["BuildKmsKeyArn"]
    assert parameter["Default"] == ""
    assert re.fullmatch(parameter["AllowedPattern"], value)
    assert not re.fullmatch(parameter["AllowedPattern"], "alias/bakery")
