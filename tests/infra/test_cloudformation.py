"""The CloudFormation templates: linted, policy-checked, and shaped the way the bot and the contract expect."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from bot.domain.models import STAGES
from bot.state.dynamodb import TABLE_SCHEMA
from tests.infra.cfn import render
from tests.infra.conftest import ROOT, TEMPLATE_DIR, template_paths

# The AWS calls the bot makes, by the file that makes them (its boto3 client calls).
BOT_CALLS = {
    # bot/adapters/aws/codecommit.py: the bake-request commit; GetFolder: the inputs fingerprint's tree (§12)
    "codecommit:GetBranch", "codecommit:GetCommit", "codecommit:CreateCommit", "codecommit:GetFolder",
    # bot/adapters/aws/codepipeline.py: correlation, approvals, stops
    "codepipeline:GetPipelineExecution", "codepipeline:GetPipelineState",
    "codepipeline:PutApprovalResult", "codepipeline:StopPipelineExecution",
    # bot/adapters/aws/ec2_images.py
    "ec2:DescribeImages",
    # bot/adapters/aws/ec2_sharing.py: a release's distribution (§13): copies, their tags, the accounts' permissions
    "ec2:CopyImage", "ec2:CreateTags", "ec2:ModifyImageAttribute", "ec2:ModifySnapshotAttribute",
    # bot/adapters/aws/ssm_parameters.py (the upstream watch; preflight.py too), and /bakery/images/<image>/latest
    # moved back by a revocation and read at once by the sweep (§14)
    "ssm:GetParameter", "ssm:PutParameter", "ssm:GetParametersByPath",
    # bot/adapters/aws/fleet_runs.py (Fleet.runs_of), ec2_lifecycle.py and ec2_references.py (AmiLifecycle, §14)
    "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeImageReferences", "ec2:DescribeSnapshots",
    "ec2:EnableImageDeprecation", "ec2:DeregisterImage", "ec2:DeleteSnapshot",
    # bot/adapters/aws/build_leftovers.py (the leak sweep)
    "ec2:DescribeInstances", "ec2:DescribeKeyPairs", "ec2:DescribeSecurityGroups",
    "ec2:TerminateInstances", "ec2:DeleteKeyPair", "ec2:DeleteSecurityGroup",
    # bot/adapters/aws/autoscaling.py (Fleet): launch template versions and instance refreshes
    "autoscaling:DescribeAutoScalingGroups", "ec2:DescribeLaunchTemplates", "ec2:CreateLaunchTemplateVersion",
    "ec2:ModifyLaunchTemplate", "autoscaling:StartInstanceRefresh", "autoscaling:DescribeInstanceRefreshes",
    "autoscaling:CancelInstanceRefresh", "autoscaling:RollbackInstanceRefresh",
    # bot/adapters/aws/sqs.py (the batch calls are authorised as their single operations); handing back on stop
    "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
    # bot/state/dynamodb.py; a fenced write (TransactWriteItems) is authorised as its Put/Delete + ConditionCheckItem
    "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem", "dynamodb:Query",
    # bot/adapters/aws/assumed.py: the member accounts' roles (§13)
    "sts:AssumeRole",
    # bot/adapters/aws/preflight.py (`bakery check --aws`)
    "codepipeline:GetPipeline", "codecommit:GetRepository", "sqs:GetQueueAttributes",
    "sns:GetTopicAttributes", "dynamodb:DescribeTable",
    # bot/adapters/aws/key_check.py (`bakery check --aws`): the AMI key by its alias, and its policy (§13)
    "kms:DescribeKey", "kms:GetKeyPolicy",
}  # fmt: skip
# Not called by the bot: Auto Scaling checks them on whoever starts or rolls back an instance refresh.
CHECKED_BY_AUTO_SCALING = {"ec2:RunInstances", "ec2:CreateTags", "iam:PassRole"}
# Not called by the bot: EC2 checks them on whoever makes an encrypted CopyImage (the source's and the copy's key).
CHECKED_BY_EBS = {
    "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo",
    "kms:CreateGrant",
}  # fmt: skip
# Not called by the bot: DescribeImageReferences reads them as the caller, through EC2's image service (aws:CalledVia).
CHECKED_BY_EC2_IMAGES = {"ssm:DescribeParameters", "ssm:GetParameters"}

# Where the bot calls AWS, and the names its clients go by there.
CALL_SITES = {
    "bot/adapters/aws/codecommit.py": r"self\._client",
    "bot/adapters/aws/codepipeline.py": r"self\._client",
    "bot/adapters/aws/ec2_images.py": r"self\._client",
    "bot/adapters/aws/ec2_sharing.py": r"self\._client",
    "bot/adapters/aws/ec2_lifecycle.py": r"self\._client",
    "bot/adapters/aws/ec2_references.py": r"\bec2",
    "bot/adapters/aws/fleet_runs.py": r"\bec2|\bautoscaling",
    "bot/adapters/aws/ssm_parameters.py": r"self\._client",
    "bot/adapters/aws/build_leftovers.py": r"self\._client",
    "bot/adapters/aws/autoscaling.py": r"self\._ec2|self\._autoscaling",
    "bot/adapters/aws/sqs.py": r"self\._client",
    "bot/adapters/aws/assumed.py": r"self\._sts_for\(\w+\)",
    "bot/adapters/aws/preflight.py": r"\bc|\bsqs|\bddb|\bcodepipeline|\bcodecommit|\bsns|\bssm",
    "bot/adapters/aws/key_check.py": r"\bkms",
}
SERVICES = ("codecommit", "codepipeline", "ec2", "autoscaling", "sqs", "sns", "dynamodb", "ssm", "sts", "kms")
# IAM authorises some batch operations under the single operation's action.
IAM_ACTION_OF = {
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}


def resources(templates: dict, kind: str) -> Iterator[tuple[str, str, dict]]:
    for stem, template in templates.items():
        for name, resource in template.get("Resources", {}).items():
            if resource["Type"] == kind:
                yield stem, name, resource["Properties"]


def policy_statements(templates: dict) -> Iterator[tuple[str, str, dict]]:
    """Every statement of every identity and resource policy: (template, resource, statement)."""
    for stem, template in templates.items():
        for name, resource in template.get("Resources", {}).items():
            props = resource.get("Properties", {})
            documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
            documents += [props[k] for k in ("PolicyDocument", "KeyPolicy") if k in props]
            for document in documents:
                for statement in document["Statement"]:
                    # A statement under a Condition (!If [cond, statement, !Ref AWS::NoValue]): its branches.
                    branches = statement["Fn::If"][1:] if "Fn::If" in statement else [statement]
                    for branch in branches:
                        if branch != {"Ref": "AWS::NoValue"}:
                            yield stem, name, branch


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def sub_strings(node: Any, function: str) -> Iterator[str]:
    """The !Sub strings inside every `function` (e.g. Fn::ImportValue) in node."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == function and isinstance(value, dict) and "Fn::Sub" in value:
                yield value["Fn::Sub"]
            else:
                yield from sub_strings(value, function)
    elif isinstance(node, list):
        for item in node:
            yield from sub_strings(item, function)


def exports_of(template: dict) -> set[str]:
    """Export names, with a ${Parameter} other than NamePrefix expanded over its AllowedValues."""
    names = set()
    for output in template.get("Outputs", {}).values():
        if "Export" not in output:
            continue
        name = output["Export"]["Name"]["Fn::Sub"]
        expanded = [name]
        for param in set(re.findall(r"\$\{(\w+)\}", name)) - {"NamePrefix"}:
            values = template["Parameters"][param]["AllowedValues"]
            expanded = [n.replace(f"${{{param}}}", v) for n in expanded for v in values]
        names.update(expanded)
    return names


def test_cfn_lint_passes_on_every_template_without_warnings():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), *map(str, template_paths())], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


@pytest.mark.xdist_group("checkov")  # one checkov run with the network modes' (tests/infra/conftest.py)
def test_checkov_finds_no_failed_check(checkov_report):
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in checkov_report["results"]["failed_checks"]]
    assert failed == []
    assert checkov_report["summary"]["parsing_errors"] == 0


def test_every_checkov_skip_says_why(templates):
    for stem, template in templates.items():
        for name, resource in template["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (stem, name, skip)
                assert len(skip.get("comment", "")) > 30, f"{stem}/{name} skips {skip['id']} without a reason"


def test_pipeline_stages_are_the_bots_stages_in_order(templates):
    [(_, _, pipeline)] = resources(templates, "AWS::CodePipeline::Pipeline")
    assert tuple(stage["Name"] for stage in pipeline["Stages"]) == STAGES


def test_pipeline_is_v2_and_queues_executions(templates):
    [(_, _, pipeline)] = resources(templates, "AWS::CodePipeline::Pipeline")
    assert (pipeline["PipelineType"], pipeline["ExecutionMode"]) == ("V2", "QUEUED")


def test_approval_notifies_the_bakery_topic(templates):
    [(_, _, pipeline)] = resources(templates, "AWS::CodePipeline::Pipeline")
    [approve] = [s for s in pipeline["Stages"] if s["Name"] == "Approve"]
    [action] = approve["Actions"]
    assert action["ActionTypeId"] == {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"}
    config = action["Configuration"]
    # The bakery's own topic; in a member account the bakery's, by ARN (tests/infra/test_member_pipeline.py).
    assert config["NotificationArn"] == {"Fn::If": [
        "HasBakeryTopic", {"Ref": "BakeryTopicArn"}, {"Fn::ImportValue": {"Fn::Sub": "${NamePrefix}:topic-arn"}},
    ]}
    assert templates["notifications"]["Outputs"]["TopicArn"]["Value"] == {"Ref": "Topic"}
    assert config["CustomData"] and config["ExternalEntityLink"]


def test_publish_may_write_the_contract_ssm_parameter(templates):
    output = templates["image"]["Outputs"]["LatestAmiParameter"]["Value"]
    assert output == {"Fn::Sub": "/bakery/images/${ImageName}/latest"}
    # Publish's role writes it; the bot's roles move it back on a revocation (§14). No policy writes anything else.
    puts = [(t, s) for t, _, s in policy_statements(templates) if "ssm:PutParameter" in as_list(s["Action"])]
    assert sorted(t for t, _ in puts) == ["bot-role", "build-roles", "member-account"]
    for _, put in puts:
        assert put["Resource"]["Fn::Sub"].endswith(":parameter/bakery/images/*")


def test_each_stage_runs_its_buildspec_with_the_variables_the_pipeline_contract_names(templates):
    contract = json.loads((ROOT / "packer" / "pipeline-contract.json").read_text())
    pipeline = render(templates, "image", ImageName="web", ParentImage="base")["Pipeline"]["Properties"]
    projects = templates["build-projects"]["Resources"]
    for stage in pipeline["Stages"]:
        if stage["Name"] not in contract["buildspecs"]:
            continue
        [action] = stage["Actions"]
        project = projects[f"{stage['Name']}Project"]["Properties"]
        assert project["Source"]["BuildSpec"] == contract["buildspecs"][stage["Name"]]
        given = {v["Name"] for v in project["Environment"].get("EnvironmentVariables", [])}
        variables = json.loads(action["Configuration"].get("EnvironmentVariables", "[]"))
        given |= {v["name"] for v in variables}
        assert set(contract["env_by_stage"][stage["Name"]]) <= given, stage["Name"]
        for variable in variables:
            expected = contract["env_values"].get(variable["name"])
            assert expected in (None, variable["value"]), variable
        if stage["Name"] != "Publish":
            assert set(contract["packer_env"]) <= given, stage["Name"]


def test_state_table_matches_the_bots_schema(templates):
    [(_, _, table)] = resources(templates, "AWS::DynamoDB::Table")
    assert {key: table[key] for key in TABLE_SCHEMA} == TABLE_SCHEMA
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True


def test_no_policy_allows_every_action(templates):
    for stem, name, statement in policy_statements(templates):
        assert "*" not in as_list(statement["Action"]), f"{stem}/{name}: {statement}"


def test_resource_star_comes_only_with_named_actions(templates):
    # In a KMS key policy Resource "*" means the key itself, so the key's own policy is exempt.
    key_policies = {(stem, name) for stem, name, _ in resources(templates, "AWS::KMS::Key")}
    for stem, name, statement in policy_statements(templates):
        if statement["Effect"] != "Allow" or statement["Resource"] != "*" or (stem, name) in key_policies:
            continue
        wildcards = [a for a in as_list(statement["Action"]) if a.endswith("*")]
        assert wildcards == [], f"{stem}/{name} allows {wildcards} on every resource"


def test_bot_task_role_allows_exactly_the_calls_the_bot_makes(templates):
    role = templates["bot-role"]["Resources"]["TaskRole"]["Properties"]
    allowed = {a for p in role["Policies"] for s in p["PolicyDocument"]["Statement"] for a in as_list(s["Action"])}
    assert allowed == BOT_CALLS | CHECKED_BY_AUTO_SCALING | CHECKED_BY_EBS | CHECKED_BY_EC2_IMAGES


def test_the_bots_code_calls_exactly_the_listed_aws_operations():
    session = botocore.session.get_session()
    operations = {s: {xform_name(op): op for op in session.get_service_model(s).operation_names} for s in SERVICES}
    found = set()
    for path, receivers in CALL_SITES.items():
        source = (ROOT / path).read_text()
        names = re.findall(rf"(?:{receivers})\.([a-z][a-z0-9_]+)\b", source)
        names += re.findall(r"get_paginator\(\"([a-z_]+)\"\)", source)
        for name in names:
            owners = [svc for svc in SERVICES if name in operations[svc]]
            assert len(owners) <= 1, f"{path}: {name} is an operation of {owners}; name the client"
            if owners:
                action = f"{owners[0]}:{operations[owners[0]][name]}"
                found.add(IAM_ACTION_OF.get(action, action))
    # The store names its operations as strings (self._call("get_item", ...)).
    store = (ROOT / "bot/state/dynamodb.py").read_text()
    for name in re.findall(r"self\._(?:call|write)\(\s*\"(\w+)\"", store):
        found.add(f"dynamodb:{operations['dynamodb'][name]}")
    # A fenced write is one TransactWriteItems, which IAM authorises item by item: its Put or Delete (above) and the
    # ConditionCheck on the lease item (dynamodb:ConditionCheckItem); TransactWriteItems itself is no IAM action.
    if "transact_write_items" in store and '"ConditionCheck"' in store:
        found.add("dynamodb:ConditionCheckItem")
    assert found == BOT_CALLS


def test_bot_accepts_no_inbound_connection(templates):
    made = render(templates, "bot")  # NetworkMode private, the default; public: tests/infra/test_network_modes.py
    group = made["BotSecurityGroup"]["Properties"]
    network = made["Service"]["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert "SecurityGroupIngress" not in group
    assert network["AssignPublicIp"] == "DISABLED"


def test_bot_runs_socket_mode_with_tokens_from_secrets_manager(templates):
    [container] = templates["bot"]["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
    assert secrets["SLACK_BOT_TOKEN"] == {"Ref": "SlackBotTokenSecretArn"}
    assert secrets["SLACK_APP_TOKEN"] == {"Ref": "SlackAppTokenSecretArn"}
    assert not any(e["Name"].startswith("SLACK_") for e in container["Environment"])
    assert container["Command"][-1].endswith("exec bakery socket")


def test_pipeline_events_rule_sends_the_bakerys_pipelines_to_the_topic(templates):
    rule = templates["notifications"]["Resources"]["PipelineEventsRule"]["Properties"]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.codepipeline"]
    assert {t.split(" ")[1] for t in pattern["detail-type"]} == {"Pipeline", "Stage", "Action"}
    assert pattern["detail"]["pipeline"] == [{"prefix": {"Fn::Sub": "${NamePrefix}-"}}]
    pipeline_name = templates["image"]["Resources"]["Pipeline"]["Properties"]["Name"]
    assert pipeline_name == {"Fn::Sub": "${NamePrefix}-${ImageName}"}
    assert rule["Targets"][0]["Arn"] == {"Ref": "Topic"}


def test_topic_key_lets_eventbridge_encrypt(templates):
    key = templates["notifications"]["Resources"]["TopicKey"]["Properties"]["KeyPolicy"]
    [events] = [s for s in key["Statement"] if s.get("Principal") == {"Service": "events.amazonaws.com"}]
    assert "kms:GenerateDataKey*" in events["Action"]


def test_queue_is_encrypted_and_sends_failures_to_a_dead_letter_queue(templates):
    queue = templates["notifications"]["Resources"]["Queue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}


def test_no_account_region_ami_vpc_or_subnet_id_is_written_down():
    hard_coded = re.compile(
        r"\b\d{12}\b|\b(?:ami|vpc|subnet|sg)-[0-9a-f]{8,17}\b|\b(?:us|eu|ap|sa|ca|me|af|il)-[a-z]+-\d\b"
    )
    for path in template_paths():
        found = hard_coded.findall(path.read_text())
        assert found == [], f"{path.name}: {found}"


def test_every_imported_value_is_exported_by_a_stack_deployed_before(templates):
    order = re.findall(r"cloudformation/([a-z-]+)\.yaml", (ROOT / "infra" / "deploy.sh").read_text())
    assert sorted(set(order)) == sorted(p.stem for p in TEMPLATE_DIR.glob("*.yaml"))
    exported: set[str] = set()
    for stem in dict.fromkeys(order):  # first deployment of each template, in order
        missing = set(sub_strings(templates[stem], "Fn::ImportValue")) - exported
        assert missing == set(), f"{stem} imports {missing} before any stack exports them"
        exported |= exports_of(templates[stem])
