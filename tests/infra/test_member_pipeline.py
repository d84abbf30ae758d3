"""A member account runs its own images' pipelines (CONTRACT section 13): `infra/deploy.sh member` deploys there the
network, build roles, build projects and image stacks, which import only what that account's earlier stacks export
and name the bakery's topic, topic key and AMI key by ARN; the bakery's topic and key let exactly the member
accounts' bakery roles publish (IAM decided by tests/infra/iam_simulator.py, as in test_member_account.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.infra.cfn import ACCOUNT, PREFIX, REGION, Resolver, render, role_statements
from tests.infra.conftest import ROOT
from tests.infra.test_cloudformation import exports_of
from tests.infra.test_member_account import MEMBER, UNLISTED, document, principal_context

TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:{PREFIX}-events"
TOPIC_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0b0b0b0b-12ab-34cd-56ef-1234567890ab"
AMI_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# What deploy_member's environment gives each parameter it passes.
MEMBER_VALUES = {
    "BakeryAccountId": ACCOUNT, "BakeryBotRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-bot",
    "ExternalId": "bakery-7f3e9c2a", "RepositoryRole": "build-image", "BuildImageTag": "2026-11-26.1",
    "BuildKmsKeyArn": AMI_KEY, "AmiKeyArn": AMI_KEY, "BakeryTopicArn": TOPIC, "BakeryTopicKeyArn": TOPIC_KEY,
    "ImageName": "web", "ParentImage": "base", "ImagePath": "", "NetworkMode": "private",
}  # fmt: skip
# Exports only the bakery account has: a member stack importing one could not be created there.
BAKERY_ONLY_EXPORTS = {f"{PREFIX}:{name}" for name in ("topic-arn", "topic-key-arn", "ami-key-arn", "queue-arn",
                                                       "queue-url", "state-table-arn")}


def imports(templates: dict, stem: str, **parameters: Any) -> set[str]:
    """The export names the template imports as CloudFormation would create it for these parameters."""
    template = templates[stem]
    resolve = Resolver(template, parameters)
    seen: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict) and set(node) == {"Fn::If"}:
            condition, if_true, if_false = node["Fn::If"]
            walk(if_true if resolve.conditions[condition] else if_false)
        elif isinstance(node, dict) and set(node) == {"Fn::ImportValue"}:
            seen.add(resolve(node["Fn::ImportValue"]))
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)

    walk([r for r in template["Resources"].values() if resolve.conditions.get(r.get("Condition"), True)])
    walk(template.get("Outputs", {}))
    return seen


def member_deployments() -> list[tuple[str, list[str]]]:
    """deploy_member's stacks in order: (template, the parameters it passes)."""
    script = (ROOT / "infra" / "deploy.sh").read_text()
    body = script[script.index("deploy_member() {"):]
    body = body[: body.index("\n}\n")].replace("\\\n", " ")
    found = []
    for line in body.splitlines():
        if m := re.match(r'\s*deploy "\$PREFIX-[a-z-]+" infra/cloudformation/([a-z-]+)\.yaml(.*)', line):
            found.append((m[1], re.findall(r"(\w+)=", m[2])))
        elif m := re.match(r"\s*deploy_images(.*)", line):
            found.append(("image", ["ImageName", "ParentImage", "ImagePath", *re.findall(r"(\w+)=", m[1])]))
    return found


def test_the_member_deploys_its_pipelines_stacks_in_order():
    assert [stem for stem, _ in member_deployments()] == [
        "member-account", "network", "endpoints", "container-repository", "build-roles", "build-projects", "image",
    ]


def test_each_member_stack_imports_only_what_an_earlier_member_stack_exports(templates):
    exported: set[str] = set()
    for stem, passed in member_deployments():
        assert set(passed) <= set(templates[stem]["Parameters"]), (stem, passed)
        imported = imports(templates, stem, **{"AWS::AccountId": MEMBER, **{k: MEMBER_VALUES[k] for k in passed}})
        assert imported & BAKERY_ONLY_EXPORTS == set(), f"{stem} imports the bakery's {imported & BAKERY_ONLY_EXPORTS}"
        assert imported <= exported, f"{stem} imports {imported - exported} before a member stack exports them"
        exported |= {name.replace("${NamePrefix}", PREFIX) for name in exports_of(templates[stem])}


@pytest.mark.parametrize(("stem", "expected"), [
    ("image", {f"{PREFIX}:topic-arn", f"{PREFIX}:topic-key-arn"}),
    ("build-roles", {f"{PREFIX}:topic-arn", f"{PREFIX}:topic-key-arn"}),
    ("build-projects", {f"{PREFIX}:topic-arn", f"{PREFIX}:ami-key-arn"}),
])
def test_in_the_bakery_account_the_same_templates_still_import_its_topic_and_keys(templates, stem, expected):
    assert expected <= imports(templates, stem, BuildImageTag="t")


def test_the_member_pipeline_notifies_the_bakerys_topic_and_the_bake_reports_there(templates):
    member = {"AWS::AccountId": MEMBER, "BakeryTopicArn": TOPIC, "BakeryTopicKeyArn": TOPIC_KEY}
    stages = render(templates, "image", **member)["Pipeline"]["Properties"]["Stages"]
    [approve] = [s["Actions"][0] for s in stages if s["Name"] == "Approve"]
    assert approve["Configuration"]["NotificationArn"] == TOPIC
    resolve = Resolver(templates["build-projects"], {"AWS::AccountId": MEMBER, "BuildImageTag": "t",
                                                     "BakeryTopicArn": TOPIC, "AmiKeyArn": AMI_KEY})
    resources = templates["build-projects"]["Resources"]
    bake, validate = (resolve(resources[name]["Properties"]["Environment"])
                      for name in ("BakeProject", "ValidateProject"))
    variables = {v["Name"]: v["Value"] for v in bake["EnvironmentVariables"]}
    assert (variables["BAKERY_TOPIC_ARN"], variables["PKR_VAR_kms_key_id"]) == (TOPIC, AMI_KEY)
    assert {v["Name"]: v["Value"] for v in validate["EnvironmentVariables"]}["PKR_VAR_kms_key_id"] == AMI_KEY


# --- who may publish: the member's bakery roles, as IAM decides it across the two accounts --------------------------


def member_publishes(templates, iam, role: str, identity: list[dict], listed: list[str]) -> tuple[str, str]:
    """(sns:Publish on the bakery topic, GenerateDataKey on its key through SNS) for a role of another account."""
    made = render(templates, "notifications", MemberAccounts=listed, Topic=TOPIC)
    context = {**principal_context(role), "aws:SecureTransport": True}
    policies = [document(*identity)]
    sns = iam.decide(policies, "sns:Publish", TOPIC, principal=role, context=context,
                     resource_policy=made["TopicPolicy"]["Properties"]["PolicyDocument"], account=ACCOUNT)
    kms = iam.decide(policies, "kms:GenerateDataKey", TOPIC_KEY, principal=role,
                     context={**context, "kms:ViaService": f"sns.{REGION}.amazonaws.com"},
                     resource_policy=made["TopicKey"]["Properties"]["KeyPolicy"], account=ACCOUNT)
    return sns, kms


def member_role(templates, stem: str, role: str) -> list[dict]:
    return role_statements(templates, stem, role, **{"AWS::AccountId": MEMBER, "BakeryTopicArn": TOPIC,
                                                      "BakeryTopicKeyArn": TOPIC_KEY, "BuildKmsKeyArn": AMI_KEY})


@pytest.mark.parametrize(("stem", "resource", "name"), [
    ("image", "PipelineRole", f"{PREFIX}-web-pipeline"),  # the approval notification
    ("build-roles", "BakeRole", f"{PREFIX}-bake"),         # the bake result
])
def test_the_members_pipeline_and_bake_roles_publish_to_the_bakery_topic(templates, iam, stem, resource, name):
    role = f"arn:aws:iam::{MEMBER}:role/{name}"
    assert member_publishes(templates, iam, role, member_role(templates, stem, resource), [MEMBER]) == (
        "Allowed", "Allowed")


ANY_PUBLISH = [{"Effect": "Allow", "Action": ["sns:Publish", "kms:GenerateDataKey"], "Resource": [TOPIC, TOPIC_KEY]}]


@pytest.mark.parametrize(("role", "listed"), [
    (f"arn:aws:iam::{MEMBER}:role/payroll", [MEMBER]),              # not a bakery role, even with its own grant
    (f"arn:aws:iam::{UNLISTED}:role/{PREFIX}-bake", [MEMBER]),      # a bakery role of an account not listed
    (f"arn:aws:iam::{MEMBER}:role/{PREFIX}-bake", [""]),            # no member accounts at all
    (f"arn:aws:iam::{MEMBER}:user/{PREFIX}-bake", [MEMBER]),        # a user named like one
])
def test_nobody_else_publishes_or_uses_the_topic_key(templates, iam, role, listed):
    assert member_publishes(templates, iam, role, ANY_PUBLISH, listed) == ("ImplicitlyDenied", "ImplicitlyDenied")


def test_deploy_sh_member_runs_the_member_stacks_in_order_with_the_bakerys_arns(tmp_path):
    """infra/deploy.sh member, run for real in bash with a stand-in `aws` that records each call."""
    import os
    import subprocess

    log = tmp_path / "aws.log"
    fake = tmp_path / "bin" / "aws"
    fake.parent.mkdir()
    fake.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> {log}\n')
    fake.chmod(0o755)
    env = {
        "PATH": f"{fake.parent}:{os.environ['PATH']}", "IMAGES": "web:base", "BUILD_IMAGE_TAG": "2026-11-26.1",
        "BAKERY_ACCOUNT_ID": ACCOUNT, "BAKERY_BOT_ROLE_ARN": MEMBER_VALUES["BakeryBotRoleArn"],
        "BAKERY_EXTERNAL_ID": "bakery-7f3e9c2a", "BAKERY_TOPIC_ARN": TOPIC, "BAKERY_TOPIC_KEY_ARN": TOPIC_KEY,
        "BAKERY_AMI_KEY_ARN": AMI_KEY,
    }
    result = subprocess.run(["bash", str(ROOT / "infra" / "deploy.sh"), "member"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    every_call = log.read_text().splitlines()
    calls = [c for c in every_call if c.startswith("cloudformation deploy ")]  # not the network mode's look-up
    stacks = [c.split("--stack-name ")[1].split()[0] for c in calls]
    assert stacks == [f"{PREFIX}-{s}" for s in ("member", "network", "endpoints", "build-image-repository",
                                                "build-roles", "build-projects", "image-web")]
    by_stack = dict(zip(stacks, calls, strict=True))
    assert f"BakeryTopicArn={TOPIC} BakeryTopicKeyArn={TOPIC_KEY}" in by_stack[f"{PREFIX}-image-web"]
    assert "ParentImage=base" in by_stack[f"{PREFIX}-image-web"]
    assert f"BuildKmsKeyArn={AMI_KEY}" in by_stack[f"{PREFIX}-build-roles"]
    assert f"AmiKeyArn={AMI_KEY}" in by_stack[f"{PREFIX}-build-projects"]
    # Nothing of the bakery account's own deployment: no notifications, key, bot or configuration parameter.
    assert not any(word in " ".join(every_call) for word in ("notifications.yaml", "ami-key.yaml", "ssm put-parameter"))


def test_deploy_sh_member_without_the_bakerys_arns_stops_before_the_builds_and_says_which(tmp_path):
    import os
    import subprocess

    fake = tmp_path / "aws"
    fake.write_text("#!/usr/bin/env bash\n")
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}", "IMAGES": "web:base", "BUILD_IMAGE_TAG": "t",
           "BAKERY_ACCOUNT_ID": ACCOUNT, "BAKERY_BOT_ROLE_ARN": MEMBER_VALUES["BakeryBotRoleArn"],
           "BAKERY_EXTERNAL_ID": "x-y"}
    result = subprocess.run(["bash", str(ROOT / "infra" / "deploy.sh"), "member"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and "BAKERY_TOPIC_ARN" in result.stderr
    assert "== ami-bakery-build-roles" not in result.stdout
