"""The bakery's two network modes (issue 13, item 6): NetworkMode private, today's and the default (private subnets
behind one NAT gateway), and public, the low-cost one (public subnets, no NAT gateway, public addresses on the
build and test instances and the bot, no inbound rule anywhere). `infra/deploy.sh` chooses with NETWORK_MODE.

The templates are rendered per mode (tests/infra/cfn.py). cfn-lint runs over a copy whose NetworkMode defaults to
public; checkov, which decides no condition itself, over each mode's templates with every Fn::If and Condition
decided. deploy.sh runs for real in bash against a stand-in `aws` that records its calls.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.infra.cfn import MODE_TEMPLATES, MODES, Resolver, concrete, render
from tests.infra.conftest import ROOT
from tests.infra.test_buildspec import bakery_build

# What the build and test instances, CodeBuild and the bot run with (network.yaml, bot.yaml).
WORKLOAD_GROUPS = {"network": ("BuildInstanceSecurityGroup", "CodeBuildSecurityGroup"), "bot": ("BotSecurityGroup",)}
BUILD_STAGES = ("ValidateProject", "BakeProject", "TestProject")
ANYWHERE = ("0.0.0.0/0", "::/0")
SUBNET_IDS = "arn:aws:import:eu-west-1:123456789012:ami-bakery:subnet-ids"  # the `<prefix>:subnet-ids` import


def network(templates: dict, mode: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """network.yaml's resources and outputs as CloudFormation would create them in this mode."""
    template = templates["network"]
    resolve = Resolver(template, {"NetworkMode": mode})
    outputs = {name: resolve(output["Value"]) for name, output in template["Outputs"].items()
               if resolve.conditions.get(output.get("Condition"), True)}
    return render(templates, "network", NetworkMode=mode), outputs


def of_type(made: dict[str, Any], kind: str) -> dict[str, dict]:
    return {name: resource["Properties"] for name, resource in made.items() if resource["Type"] == kind}


def rendered(templates: dict, stem: str, mode: str, *kinds: str) -> dict[str, Any]:
    """The template's resources of these types as CloudFormation would create them in this mode (only those: the
    resolver knows no other template's !GetAtt)."""
    template = templates[stem]
    resolve = Resolver(template, {"NetworkMode": mode} if stem in MODE_TEMPLATES else {})
    return {name: resolve(resource) for name, resource in template["Resources"].items()
            if resource["Type"] in kinds and resolve.conditions.get(resource.get("Condition"), True)}


def default_route_of(made: dict[str, Any], subnet: str) -> str:
    """Where the subnet's 0.0.0.0/0 route goes: ref:NatGateway or ref:InternetGateway."""
    [table] = [a["RouteTableId"] for a in of_type(made, "AWS::EC2::SubnetRouteTableAssociation").values()
               if a["SubnetId"] == f"ref:{subnet}"]
    [route] = [r for r in of_type(made, "AWS::EC2::Route").values()
               if r["RouteTableId"] == table and r["DestinationCidrBlock"] == "0.0.0.0/0"]
    return str(route.get("NatGatewayId") or route["GatewayId"])


def test_network_mode_is_one_parameter_of_the_templates_deploy_sh_gives_it_to(templates):
    taking = {stem for stem, template in templates.items() if "NetworkMode" in template.get("Parameters", {})}
    assert taking == set(MODE_TEMPLATES)
    for stem in MODE_TEMPLATES:
        parameter = templates[stem]["Parameters"]["NetworkMode"]
        assert (parameter["Default"], parameter["AllowedValues"]) == ("private", list(MODES)), stem


@pytest.mark.parametrize("mode", MODES)
def test_both_modes_run_the_bakery_in_two_subnets_in_two_availability_zones(templates, mode):
    made, outputs = network(templates, mode)
    subnets = [ref.removeprefix("ref:") for ref in outputs["SubnetIds"].split(",")]
    zones = [made[name]["Properties"]["AvailabilityZone"]["Fn::Select"] for name in subnets]
    assert sorted(index for index, _ in zones) == [0, 1] and zones[0][1] == zones[1][1] == {"Fn::GetAZs": ""}
    public = mode == "public"
    for name in subnets:
        assert made[name]["Properties"]["MapPublicIpOnLaunch"] is public, name
        assert default_route_of(made, name) == ("ref:InternetGateway" if public else "ref:NatGateway"), name


@pytest.mark.parametrize(("mode", "nat_gateways"), [("private", 1), ("public", 0)])
def test_only_the_private_mode_pays_for_a_nat_gateway_and_its_address(templates, mode, nat_gateways):
    made, outputs = network(templates, mode)
    assert len(of_type(made, "AWS::EC2::NatGateway")) == len(of_type(made, "AWS::EC2::EIP")) == nat_gateways
    # The interface endpoints' subnets exist only in the private mode (deploy.sh refuses them in the public one).
    assert ("PrivateSubnetIds" in outputs) is (mode == "private")
    # The free gateway endpoints serve the subnets the bakery runs in, in both modes.
    for endpoint in of_type(made, "AWS::EC2::VPCEndpoint").values():
        [table] = endpoint["RouteTableIds"]
        assert table == ("ref:PrivateRouteTable" if mode == "private" else "ref:PublicRouteTable")


@pytest.mark.parametrize("mode", MODES)
def test_no_security_group_accepts_anything_from_the_internet(templates, mode):
    deployed = [stem for stem in templates if not (mode == "public" and stem == "endpoints")]
    for stem in deployed:
        made = rendered(templates, stem, mode, "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress")
        rules = [rule for group in of_type(made, "AWS::EC2::SecurityGroup").values()
                 for rule in group.get("SecurityGroupIngress", [])]
        rules += list(of_type(made, "AWS::EC2::SecurityGroupIngress").values())
        assert [r for r in rules if r.get("CidrIp") in ANYWHERE or r.get("CidrIpv6") in ANYWHERE] == [], stem
    # What runs with a public address in the public mode accepts no inbound connection at all, in either mode.
    for stem, groups in WORKLOAD_GROUPS.items():
        made = rendered(templates, stem, mode, "AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress")
        for group in groups:
            assert "SecurityGroupIngress" not in made[group]["Properties"], (stem, group)
        assert of_type(made, "AWS::EC2::SecurityGroupIngress") == {}, stem


@pytest.mark.parametrize(("mode", "assign"), [("private", "DISABLED"), ("public", "ENABLED")])
def test_the_bot_takes_a_public_address_only_in_the_public_mode(templates, mode, assign):
    made = render(templates, "bot", NetworkMode=mode)
    network_configuration = made["Service"]["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network_configuration["AssignPublicIp"] == assign
    assert network_configuration["Subnets"] == [SUBNET_IDS]
    assert network_configuration["SecurityGroups"] == ["ref:BotSecurityGroup"]
    # Socket Mode dials out: no load balancer or API Gateway receives Slack's requests in either mode.
    assert not [r for r in made.values() if r["Type"].startswith(("AWS::ElasticLoadBalancingV2::", "AWS::ApiGateway"))]


@pytest.mark.parametrize(("mode", "public_ip"), [("private", "false"), ("public", "true")])
def test_builds_run_in_the_vpc_only_in_the_private_mode_and_instances_get_an_address_only_in_the_public(
        templates, mode, public_ip):
    made = rendered(templates, "build-projects", mode, "AWS::CodeBuild::Project")
    for name, project in of_type(made, "AWS::CodeBuild::Project").items():
        # CodeBuild gives a build in a VPC no public address: in the public mode (no NAT) it runs outside.
        assert ("VpcConfig" in project) is (mode == "private"), name
        if name in BUILD_STAGES:
            variables = {v["Name"]: v["Value"] for v in project["Environment"]["EnvironmentVariables"]}
            assert variables["PKR_VAR_associate_public_ip_address"] == public_ip, name
            # The first of the two subnets the mode runs the bakery in (network.yaml's SubnetIds).
            assert variables["PKR_VAR_subnet_id"] == {"Fn::Select": [0, [SUBNET_IDS]]}


def test_a_bake_request_cannot_choose_the_build_instances_public_address():
    # The platform's (the project's PKR_VAR_ for its mode): a request's var file would override the environment.
    declared = bakery_build.declared_variables(ROOT / "packer" / "images" / "base")
    assert "associate_public_ip_address" in declared
    with pytest.raises(bakery_build.Refused, match="does not accept: associate_public_ip_address "):
        bakery_build.request_variables({"variables": {"associate_public_ip_address": "true"}}, declared)


def public_mode_copy(directory: Path) -> Path:
    """infra/ copied with NetworkMode defaulting to public in each template that takes it."""
    shutil.copytree(ROOT / "infra", directory / "infra")
    for stem in MODE_TEMPLATES:
        path = directory / "infra" / "cloudformation" / f"{stem}.yaml"
        text, count = re.subn(r"(\n  NetworkMode:\n    Type: String\n    Default: )private\n", r"\1public\n",
                              path.read_text())
        assert count == 1, stem
        path.write_text(text)
    return directory / "infra"


def test_cfn_lint_passes_on_the_public_modes_templates_without_warnings(tmp_path):
    infra = public_mode_copy(tmp_path)
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    paths = [str(infra / "cloudformation" / f"{stem}.yaml") for stem in MODE_TEMPLATES]
    result = subprocess.run([str(cfn_lint), *paths], capture_output=True, text=True, timeout=180)
    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr




@pytest.mark.xdist_group("checkov")  # one checkov run with infra/ (tests/infra/conftest.py, checkov_reports)
@pytest.mark.parametrize("mode", MODES)
def test_checkov_finds_no_failed_check_in_either_modes_templates(templates, checkov_reports, mode):
    report = checkov_reports[mode]
    assert [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]] == []
    assert report["summary"]["parsing_errors"] == 0
    made = {name for stem in MODE_TEMPLATES for name in concrete(templates[stem], mode)["Resources"]}
    assert ("NatGateway" in made, "PublicSubnetB" in made) == (mode == "private", mode == "public")


# --- infra/deploy.sh ------------------------------------------------------------------------------------------------

# Records each call; answers the network stack's NetworkMode with $DEPLOYED_MODE, or fails as for a missing stack.
FAKE_AWS = r"""#!/usr/bin/env bash
printf '%s\n' "$*" >> "$FAKE_LOG"
if [ "$1 $2" = "cloudformation describe-stacks" ] && [[ "$*" == *"-network --query"* ]]; then
  [ -n "${DEPLOYED_MODE+set}" ] || { echo "Stack with id ami-bakery-network does not exist" >&2; exit 255; }
  echo "$DEPLOYED_MODE"
fi
"""
BAKERY_ENV = {
    "IMAGES": "base web:base", "BUILD_IMAGE_TAG": "2026-11-26.1", "BOT_IMAGE_TAG": "0.1.0",
    "SLACK_BOT_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:bot-AbCdEf",
    "SLACK_APP_TOKEN_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-AbCdEf",
    "BAKERY_YAML": "bakery.yaml",
}  # fmt: skip
MEMBER_ENV = {
    "IMAGES": "web:base", "BUILD_IMAGE_TAG": "2026-11-26.1", "BAKERY_ACCOUNT_ID": "123456789012",
    "BAKERY_BOT_ROLE_ARN": "arn:aws:iam::123456789012:role/ami-bakery-bot", "BAKERY_EXTERNAL_ID": "bakery-7f3e9c2a",
    "BAKERY_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:ami-bakery-events",
    "BAKERY_TOPIC_KEY_ARN": "arn:aws:kms:eu-west-1:123456789012:key/0b0b0b0b-12ab-34cd-56ef-1234567890ab",
    "BAKERY_AMI_KEY_ARN": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
}  # fmt: skip


def deploy_sh(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Runs infra/deploy.sh; returns its result and the `aws` command lines it ran."""
    fake = tmp_path / "bin" / "aws"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text(FAKE_AWS)
    fake.chmod(0o755)
    log = tmp_path / "aws.log"
    environment = {"PATH": f"{fake.parent}:{os.environ['PATH']}", "FAKE_LOG": str(log), **env}
    result = subprocess.run(["bash", str(ROOT / "infra" / "deploy.sh"), *args], env=environment,
                            capture_output=True, text=True, timeout=60)
    return result, log.read_text().splitlines() if log.exists() else []


def deployments(calls: list[str]) -> dict[str, str]:
    """Each `cloudformation deploy` by stack name (without the prefix), in order."""
    found = {}
    for call in calls:
        if call.startswith("cloudformation deploy "):
            found[call.split("--stack-name ami-bakery-")[1].split()[0]] = call
    return found


@pytest.mark.parametrize(("given", "mode"), [({}, "private"), ({"NETWORK_MODE": "private"}, "private"),
                                             ({"NETWORK_MODE": "public"}, "public")])
def test_deploy_sh_gives_the_network_mode_to_the_network_the_build_projects_and_the_bot(tmp_path, given, mode):
    result, calls = deploy_sh(tmp_path, **BAKERY_ENV, **given)
    assert result.returncode == 0, result.stderr
    stacks = deployments(calls)
    taking = {stack for stack, call in stacks.items() if "NetworkMode=" in call}
    assert taking == {"network", "build-projects", "bot"}
    assert all(f"NetworkMode={mode} " in stacks[stack] for stack in taking)
    # The interface endpoints, in the private subnets, only in the private mode (and there by default).
    assert ("endpoints" in stacks) is (mode == "private")
    assert list(stacks)[:2] == (["network", "endpoints"] if mode == "private" else ["network", "notifications"])


def test_deploy_sh_member_gives_the_mode_to_the_members_network_and_build_projects(tmp_path):
    result, calls = deploy_sh(tmp_path, "member", **MEMBER_ENV, NETWORK_MODE="public")
    assert result.returncode == 0, result.stderr
    stacks = deployments(calls)
    assert list(stacks) == ["member", "network", "build-image-repository", "build-roles", "build-projects", "image-web"]
    assert {stack for stack, call in stacks.items() if "NetworkMode=public " in call} == {"network", "build-projects"}


@pytest.mark.parametrize(("given", "says"), [
    ({"NETWORK_MODE": "cheap"}, "NETWORK_MODE must be private or public, not 'cheap'"),
    ({"NETWORK_MODE": "public", "WITH_ENDPOINTS": "1"}, "NETWORK_MODE=public has no private subnets"),
])
def test_deploy_sh_refuses_a_mode_it_cannot_build_before_any_call(tmp_path, given, says):
    result, calls = deploy_sh(tmp_path, **BAKERY_ENV, **given)
    assert result.returncode == 2 and says in result.stderr
    assert calls == []


@pytest.mark.parametrize(("deployed", "asked"), [("private", "public"), ("public", "private"), ("None", "public")])
def test_deploy_sh_refuses_to_switch_a_deployed_networks_mode_and_deploys_nothing(tmp_path, deployed, asked):
    # "None": a network stack deployed before NetworkMode existed, which was private.
    result, calls = deploy_sh(tmp_path, **BAKERY_ENV, NETWORK_MODE=asked, DEPLOYED_MODE=deployed)
    was = "private" if deployed == "None" else deployed
    assert result.returncode == 2
    says = f"ami-bakery-network is deployed with NetworkMode={was}; NETWORK_MODE={asked} would switch it"
    assert says in result.stderr
    assert deployments(calls) == {}


def test_deploy_sh_redeploys_a_network_in_the_mode_it_has(tmp_path):
    result, calls = deploy_sh(tmp_path, **BAKERY_ENV, NETWORK_MODE="public", DEPLOYED_MODE="public")
    assert result.returncode == 0, result.stderr
    assert "NetworkMode=public " in deployments(calls)["network"]
