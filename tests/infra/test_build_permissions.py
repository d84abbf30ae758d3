"""The build roles may make the calls the buildspecs and Packer make, on the resources and conditions they make them.

A small evaluator over the templates' own statements: each template is resolved for one account, region and image
(!Sub, !Ref, !GetAtt, Fn::ImportValue, Fn::If on the template's Conditions), and a request is allowed when an Allow
statement matches its action, its resource (IAM's `*` and `?` wildcards) and every condition, and no Deny does.
Only the condition operators the templates use are understood; any other fails the test instead of passing it.
moto's IAM enforcement ignores Resource and Condition, so it could not tell these apart.
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


def _condition_holds(operator: str, key: str, expected: Any, context: dict[str, Any]) -> bool:
    expected = [str(e).lower() if isinstance(e, bool) else str(e) for e in _as_list(expected)]
    if operator.startswith("ForAnyValue:"):
        given = _as_list(context.get(key, []))
        return any(_condition_holds(operator.split(":", 1)[1], key, expected, {key: g}) for g in given)
    if key not in context:
        return False  # every operator but ...IfExists fails on a missing key
    value = context[key]
    value = str(value).lower() if isinstance(value, bool) else str(value)
    if operator == "StringEquals":
        return value in expected
    if operator == "StringLike":
        return any(_wildcard(e, value) for e in expected)
    if operator == "Bool":
        return value in expected
    raise AssertionError(f"condition operator {operator} is not understood here")


def _matches(statement: dict, action: str, resource: str, context: dict[str, Any]) -> bool:
    assert "NotAction" not in statement and "NotResource" not in statement, statement
    if not any(_wildcard(a, action, case=False) for a in _as_list(statement["Action"])):
        return False
    if not any(_wildcard(r, resource) for r in _as_list(statement["Resource"])):
        return False
    return all(
        _condition_holds(operator, key, expected, context)
        for operator, block in statement.get("Condition", {}).items()
        for key, expected in block.items()
    )


def allowed(statements: list[dict], action: str, resource: str, **context: Any) -> bool:
    """IAM's identity-policy decision: an explicit Deny wins, else any Allow, else the implicit deny."""
    matching = [s["Effect"] for s in statements if _matches(s, action, resource, context)]
    return "Deny" not in matching and "Allow" in matching


# --- the evaluator itself ------------------------------------------------------------------------------------


def test_the_evaluator_honours_resource_and_condition():
    statements = [{"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": ec2("key-pair/packer_*"),
                   "Condition": {"StringEquals": {"ec2:CreateAction": "CreateKeyPair"}}}]
    assert allowed(statements, "ec2:createtags", ec2("key-pair/packer_1"), **{"ec2:CreateAction": "CreateKeyPair"})
    assert not allowed(statements, "ec2:CreateTags", ec2("key-pair/mine"), **{"ec2:CreateAction": "CreateKeyPair"})
    assert not allowed(statements, "ec2:CreateTags", ec2("key-pair/packer_1"), **{"ec2:CreateAction": "RunInstances"})
    assert not allowed(statements, "ec2:CreateTags", ec2("key-pair/packer_1"))
    deny = {**statements[0], "Effect": "Deny"}
    assert not allowed([*statements, deny], "ec2:CreateTags", ec2("key-pair/packer_1"),
                       **{"ec2:CreateAction": "CreateKeyPair"})


# --- finding 2: Validate reads the source-AMI parameters -----------------------------------------------------


def test_validate_may_read_exactly_the_source_ami_parameters_it_resolves(templates):
    validate = yaml.safe_load((ROOT / "buildspec-validate.yml").read_text())
    assert validate["env"]["variables"]["SOURCE_AMI_PARAMETER"] == AL2023
    assert any("aws ssm get-parameter" in c for c in validate["phases"]["build"]["commands"])
    role = role_statements(templates, "build-roles", "ValidateRole")
    public = f"arn:aws:ssm:{REGION}::parameter{AL2023}"
    assert allowed(role, "ssm:GetParameter", public)
    assert allowed(role, "ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/bakery/images/base/latest")
    # Nothing else: not the bot's configuration, not another public parameter, not a write.
    assert not allowed(role, "ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/bakery/config")
    assert not allowed(role, "ssm:GetParameter", f"arn:aws:ssm:{REGION}::parameter/aws/service/ecs/optimized-ami")
    assert not allowed(role, "ssm:PutParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/bakery/images/base/latest")


# --- finding 3: Packer tags its temporary key pair at creation -----------------------------------------------


def test_packer_may_tag_its_temporary_key_pair_when_it_creates_it(templates):
    role = role_statements(templates, "build-roles", "BakeRole")
    key = ec2("key-pair/packer_6530c4a6-1b4e-4f2e-9a43-3c1d0a3f6b7e")
    on_create = {"ec2:CreateAction": "CreateKeyPair"}
    assert allowed(role, "ec2:CreateKeyPair", key)
    assert allowed(role, "ec2:CreateTags", key, **on_create)
    # Only Packer's keys, only while creating them, and instances still only at launch.
    assert not allowed(role, "ec2:CreateTags", ec2("key-pair/someone-elses"), **on_create)
    assert not allowed(role, "ec2:CreateTags", key)
    assert not allowed(role, "ec2:CreateTags", ec2("instance/i-0123456789abcdef0"), **on_create)
    assert allowed(role, "ec2:CreateTags", ec2("instance/i-0123456789abcdef0"), **{"ec2:CreateAction": "RunInstances"})
    assert allowed(role, "ec2:CreateTags", ec2("volume/vol-0123456789abcdef0"), **{"ec2:CreateAction": "RunInstances"})


def test_the_key_pairs_tags_are_the_run_tags_packer_sends(templates):
    # step_key_pair.go tags the key with the builder's run_tags; the bake sets them.
    for image in ("base", "web"):
        assert "run_tags" in (ROOT / "packer" / "images" / image / f"{image}.pkr.hcl").read_text()


# --- finding 4: Packer checks the build instance's profile ---------------------------------------------------


def test_packer_may_check_the_build_instance_profile_and_no_other(templates):
    role = role_statements(templates, "build-roles", "BakeRole")
    profile = GET_ATT[("BuildInstanceProfile", "Arn")]
    assert allowed(role, "iam:GetInstanceProfile", profile)
    assert not allowed(role, "iam:GetInstanceProfile", f"arn:aws:iam::{ACCOUNT}:instance-profile/admin")
    passed_to_ec2 = {"iam:PassedToService": "ec2.amazonaws.com"}
    assert allowed(role, "iam:PassRole", GET_ATT[("BuildInstanceRole", "Arn")], **passed_to_ec2)


# --- finding 5: the pipeline's CodeCommit source with a clone output -----------------------------------------


def test_the_pipeline_may_get_its_repository_for_the_clone_output(templates):
    [source] = templates["image"]["Resources"]["Pipeline"]["Properties"]["Stages"][0]["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeCommit"
    assert source["Configuration"]["OutputArtifactFormat"] == "CODEBUILD_CLONE_REF"
    role = role_statements(templates, "image", "PipelineRole")
    repository = GET_ATT[("Repository", "Arn")]
    for action in ("GetRepository", "GetBranch", "GetCommit", "UploadArchive", "GetUploadArchiveStatus"):
        assert allowed(role, f"codecommit:{action}", repository), action
    assert not allowed(role, "codecommit:GetRepository", f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{PREFIX}-base")


# --- finding 10: a customer-managed key for the build volumes and AMIs ---------------------------------------

KMS_USE = ("kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo",
           "kms:DescribeKey")


def test_without_a_build_key_the_bake_role_gets_no_kms_grant(templates):
    role = role_statements(templates, "build-roles", "BakeRole")
    assert not allowed(role, "kms:CreateGrant", KEY_ARN, **{"kms:GrantIsForAWSResource": True})
    for action in KMS_USE:
        assert not allowed(role, action, KEY_ARN), action
    # Nor on any other key: whatever grants these actions names only the topic's key (kms:GenerateDataKey*).
    topic_key = f"arn:aws:import:{REGION}:{ACCOUNT}:{PREFIX}:topic-key-arn"
    for action in ("kms:CreateGrant", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptTo", "kms:DescribeKey"):
        granting = [s for s in role if any(_wildcard(a, action, case=False) for a in _as_list(s["Action"]))]
        assert all(_as_list(s["Resource"]) == [topic_key] for s in granting), (action, granting)


def test_with_a_build_key_the_bake_role_uses_that_key_for_aws_resources_only(templates):
    role = role_statements(templates, "build-roles", "BakeRole", BuildKmsKeyArn=KEY_ARN)
    assert allowed(role, "kms:CreateGrant", KEY_ARN, **{"kms:GrantIsForAWSResource": True})
    assert not allowed(role, "kms:CreateGrant", KEY_ARN, **{"kms:GrantIsForAWSResource": False})
    assert not allowed(role, "kms:CreateGrant", KEY_ARN)
    for action in KMS_USE:
        assert allowed(role, action, KEY_ARN), action
        assert not allowed(role, action, OTHER_KEY_ARN), action
    assert not allowed(role, "kms:Encrypt", KEY_ARN)


@pytest.mark.parametrize("value", ["", KEY_ARN])
def test_the_build_key_parameter_accepts_an_empty_value_or_a_key_arn(templates, value):
    parameter = templates["build-roles"]["Parameters"]["BuildKmsKeyArn"]
    assert parameter["Default"] == ""
    assert re.fullmatch(parameter["AllowedPattern"], value)
    assert not re.fullmatch(parameter["AllowedPattern"], "alias/bakery")
