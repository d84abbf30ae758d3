"""Every AWS call the builds make is allowed to the role that makes it, as IAM decides: Resource and Condition.

The calls come from the code, not from a list kept beside it: each `aws <service> <command>` of the buildspecs and
packer/scripts is parsed out, and tests/infra/iam/calls.json must hold, for exactly those, the requests IAM
evaluates (the command's own API operation first, as botocore names it, then what else IAM checks for it). Packer's
calls are HashiCorp's documented minimum policy for the Amazon plugin, each with the requests amazon-ebs makes for
the bakery's settings or why it makes none. The role is found from the templates: buildspec -> CodeBuild project
-> its ServiceRole export -> build-roles.yaml's role. Decisions: tests/infra/iam_simulator.py (iam-simulate).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

from tests.infra.cfn import ACCOUNT, IMPORTS, KEY_ARN, PREFIX, REGION, Resolver, role_statements
from tests.infra.conftest import ROOT

CALLS = json.loads((ROOT / "tests" / "infra" / "iam" / "calls.json").read_text())
SOURCES = sorted([p.name for p in ROOT.glob("buildspec*.yml")]) + sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "packer" / "scripts").glob("*.sh")
)
CLI_CALL = re.compile(r"\baws\s+([a-z0-9-]+)\s+([a-z0-9-]+)(?:\s+([a-z0-9-]+))?")
# The CLI's service name -> IAM's action prefix, for the services the builds call.
IAM_PREFIX = {"ec2": "ec2", "ssm": "ssm", "sns": "sns", "s3api": "s3"}
VALUES = {
    "region": REGION, "account": ACCOUNT, "prefix": PREFIX, "other_region": "eu-central-1",
    "execution": "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "artifact_bucket": f"{PREFIX}-artifacts-{ACCOUNT}-{REGION}",
    "topic": IMPORTS[f"{PREFIX}:topic-arn"], "topic_key": IMPORTS[f"{PREFIX}:topic-key-arn"], "build_key": KEY_ARN,
}


def cli_calls(path: str) -> set[str]:
    """The `aws` commands a buildspec or script runs, as '<service> <command>' ('<service> wait <waiter>')."""
    text = (ROOT / path).read_text()
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    found = set()
    for service, command, waiter in CLI_CALL.findall(code):
        found.add(f"{service} wait {waiter}" if command == "wait" else f"{service} {command}")
    return found


@cache
def _models() -> botocore.session.Session:
    return botocore.session.get_session()


def api_action(call: str) -> str:
    """IAM's name for what a CLI command calls: its API operation (a waiter's polling operation)."""
    service, command, *waiter = call.split()
    session = _models()
    if command == "wait":
        name = "".join(part.capitalize() for part in waiter[0].split("-"))
        operation = session.get_waiter_model(service).get_waiter(name).operation
    else:
        model = session.get_service_model("s3" if service == "s3api" else service)  # the CLI's low-level S3
        [operation] = [op for op in model.operation_names if xform_name(op, "-") == command]
    return f"{IAM_PREFIX[service]}:{operation}"


def _fill(node: Any) -> Any:
    if isinstance(node, str):
        return node.format_map(VALUES)
    if isinstance(node, list):
        return [_fill(v) for v in node]
    if isinstance(node, dict):
        return {k: _fill(v) for k, v in node.items()}
    return node


def role_of(templates: dict, path: str) -> str:
    """The build-roles.yaml role that runs a buildspec (or the script a buildspec runs)."""
    if not path.endswith(".yml"):
        [path] = [b for b in SOURCES if b.endswith(".yml") and Path(path).name in (ROOT / b).read_text()]
    projects = templates["build-projects"]["Resources"]
    [project] = [r["Properties"] for r in projects.values()
                 if r["Type"] == "AWS::CodeBuild::Project" and r["Properties"]["Source"]["BuildSpec"] == path]
    export = project["ServiceRole"]["Fn::ImportValue"]["Fn::Sub"]
    [output] = [o for o in templates["build-roles"]["Outputs"].values() if o["Export"]["Name"]["Fn::Sub"] == export]
    return str(output["Value"]["Fn::GetAtt"][0])


class Role:
    """One role's policies as deployed, and the resource policies of what it calls."""

    def __init__(self, templates: dict, role: str, **parameters: str):
        self.statements = role_statements(templates, "build-roles", role, **parameters)
        name = Resolver(templates["build-roles"], parameters)(templates["build-roles"]["Resources"][role])
        self.arn = f"arn:aws:iam::{ACCOUNT}:role/{name['Properties']['RoleName']}"
        notifications = templates["notifications"]
        resolve = Resolver(notifications, {"Topic": VALUES["topic"]})
        resources = notifications["Resources"]
        self.resource_policies = {
            VALUES["topic"]: resolve(resources["TopicPolicy"]["Properties"]["PolicyDocument"]),
            VALUES["topic_key"]: resolve(resources["TopicKey"]["Properties"]["KeyPolicy"]),
        }

    def decide(self, iam, request: dict) -> str:
        context = {"aws:PrincipalArn": self.arn, **request.get("context", {})}
        return iam.decide(
            [{"Version": "2012-10-17", "Statement": self.statements}], request["action"], request["resource"],
            principal=self.arn, context=context, resource_policy=self.resource_policies.get(request["resource"]),
        )


def _denied(role: Role, iam, requests: list[dict]) -> list[tuple[str, str, str]]:
    decisions = [(r["action"], r["resource"], role.decide(iam, r)) for r in requests]
    return [d for d in decisions if d[2] != "Allowed"]


# --- the calls are the code's -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SOURCES)
def test_the_calls_file_lists_exactly_the_aws_commands_each_buildspec_and_script_runs(path):
    assert set(CALLS["cli"].get(path, {})) == cli_calls(path)


@pytest.mark.parametrize("path", sorted(CALLS["cli"]))
def test_each_commands_first_request_is_its_own_api_operation(path):
    for call, requests in CALLS["cli"][path].items():
        assert requests[0]["action"] == api_action(call), (path, call)


def test_the_packer_calls_cover_hashicorps_documented_minimum_policy_exactly():
    packer = CALLS["packer"]
    assert list(packer["calls"]) == packer["documented"]
    for action, calls in packer["calls"].items():
        if isinstance(calls, dict):
            assert set(calls) == {"not_called"} and calls["not_called"], action
        else:
            # Each is a request for that very action (IAM's names are case-insensitive: the doc has CreateKeypair);
            # RunInstances also carries the tag-on-create and PassRole checks IAM makes with it.
            assert calls and calls[0]["action"].lower() == action.lower(), action
            assert {c["action"] for c in calls} <= {calls[0]["action"], "ec2:CreateTags", "iam:PassRole"}, action


# --- and the roles allow them -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(CALLS["cli"]))
def test_every_cli_call_is_allowed_to_the_role_that_runs_it(templates, iam, path):
    role = Role(templates, role_of(templates, path))
    requests = [r for call in CALLS["cli"][path].values() for r in _fill(call)]
    assert _denied(role, iam, requests) == []


def _packer_requests() -> list[dict]:
    packer = CALLS["packer"]
    made = [r for calls in packer["calls"].values() if isinstance(calls, list) for r in calls]
    return _fill(made + packer["session_manager"]["calls"])


def test_every_call_packer_makes_is_allowed_to_the_bake_role(templates, iam):
    assert role_of(templates, "buildspec.yml") == "BakeRole"
    assert _denied(Role(templates, "BakeRole"), iam, _packer_requests()) == []


def test_with_a_build_key_ec2_may_use_it_for_the_bake(templates, iam):
    requests = _fill(CALLS["packer"]["build_key"]["calls"])
    without = Role(templates, "BakeRole")
    assert {d[0] for d in _denied(without, iam, requests)} == {r["action"] for r in requests}
    assert _denied(Role(templates, "BakeRole", BuildKmsKeyArn=KEY_ARN), iam, requests) == []


def test_without_the_key_pair_tag_statement_packer_could_not_create_its_key(templates, iam):
    # Finding 3, as it was: the check fails when the statement is dropped.
    role = Role(templates, "BakeRole")
    role.statements = [s for s in role.statements if s.get("Sid") != "TagPackerKeysAtCreation"]
    denied = _denied(role, iam, _packer_requests())
    assert [(a, r) for a, r, _ in denied] == [("ec2:CreateTags", _fill("arn:aws:ec2:{region}:{account}:key-pair/"
                                                                         "packer_6530c4a6-1b4e-4f2e-9a43-3c1d0a3f6b7e"))]


def test_without_the_instance_profile_statement_packer_could_not_check_its_profile(templates, iam):
    # Finding 4, as it was.
    role = Role(templates, "BakeRole")
    role.statements = [s for s in role.statements if s.get("Sid") != "CheckTheBuildInstanceProfile"]
    assert [a for a, _, _ in _denied(role, iam, _packer_requests())] == ["iam:GetInstanceProfile"]
