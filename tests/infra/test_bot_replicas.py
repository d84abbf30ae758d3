"""bot.yaml runs the bot as replicas (issue 14, item 2): two tasks in two Availability Zones, start-first rolling
deploys, a stop timeout that covers the graceful stop, and a Rules assertion refusing replicas without DynamoDB.

Nothing in the suite evaluates a template's Rules as CloudFormation does: cfn-lint reads them only to reason about
Conditions (even with --parameters it refuses no value), and the LocalStack tests deploy no ECS service. So the rule
is checked here in two ways: its structure, and its decision for each parameter combination by a small evaluator
of exactly the rule functions bot.yaml uses (CloudFormation passes every parameter value to them as a string).
The task's own refusal of a bakery.yaml whose backend is not the stack's: tests/infra/test_task_runs_as_deployed.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.infra.cfn import render
from tests.infra.conftest import ROOT
from tests.infra.test_network_modes import MODES, SUBNET_IDS, network

FARGATE_MAX_STOP_TIMEOUT = 120  # seconds (ECS: a Fargate container's stopTimeout is at most 120)
SOCKET_MODE_CONNECTIONS = 10  # Slack's limit per app: each replica holds one


def service(templates: dict) -> dict[str, Any]:
    return dict(templates["bot"]["Resources"]["Service"]["Properties"])


def container(templates: dict) -> dict[str, Any]:
    [bot] = templates["bot"]["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    return dict(bot)


def rule_value(node: Any, parameters: dict[str, str]) -> Any:
    """A Rules expression decided for these parameter values (as strings, as CloudFormation gives them)."""
    if isinstance(node, (str, int)):
        return str(node)
    if isinstance(node, list):
        return [rule_value(item, parameters) for item in node]
    [(function, args)] = node.items()
    if function == "Ref":
        return parameters[args]
    if function == "Fn::Equals":
        left, right = rule_value(args, parameters)
        return left == right
    if function == "Fn::Not":
        [inner] = args
        return not rule_value(inner, parameters)
    if function == "Fn::And":
        return all(rule_value(item, parameters) for item in args)
    if function == "Fn::Or":
        return any(rule_value(item, parameters) for item in args)
    if function == "Fn::Contains":
        values, value = rule_value(args, parameters)
        return value in values
    raise AssertionError(f"rule function {function} is not evaluated here")


def refusals(template: dict, **given: str) -> list[str]:
    """The AssertDescription of every rule that refuses a stack with these parameters (defaults for the rest)."""
    parameters = {name: str(p["Default"]) for name, p in template["Parameters"].items() if "Default" in p}
    parameters.update(given)
    for name, value in parameters.items():  # CloudFormation refuses a value outside AllowedValues before any rule
        allowed = template["Parameters"][name].get("AllowedValues")
        assert allowed is None or value in map(str, allowed), (name, value)
    refused = []
    for rule in template.get("Rules", {}).values():
        if "RuleCondition" in rule and not rule_value(rule["RuleCondition"], parameters):
            continue
        refused += [a["AssertDescription"] for a in rule["Assertions"] if not rule_value(a["Assert"], parameters)]
    return refused


def test_the_service_runs_two_tasks_by_default_and_never_more_than_slack_has_connections(templates):
    parameter = templates["bot"]["Parameters"]["DesiredCount"]
    assert (parameter["Type"], parameter["Default"]) == ("Number", 2)
    assert parameter["AllowedValues"] == list(range(1, SOCKET_MODE_CONNECTIONS + 1))
    assert service(templates)["DesiredCount"] == {"Ref": "DesiredCount"}
    assert render(templates, "bot")["Service"]["Properties"]["DesiredCount"] == "2"


def test_a_deploy_starts_the_new_tasks_before_it_stops_an_old_one_and_rolls_back_a_failed_one(templates):
    deployment = service(templates)["DeploymentConfiguration"]
    assert (deployment["MinimumHealthyPercent"], deployment["MaximumPercent"]) == (100, 200)
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


@pytest.mark.parametrize("mode", MODES)
def test_the_tasks_run_in_two_subnets_of_two_availability_zones_in_either_mode(templates, mode):
    network_configuration = render(templates, "bot", NetworkMode=mode)["Service"]["Properties"]["NetworkConfiguration"][
        "AwsvpcConfiguration"
    ]
    # Every subnet network.yaml exports for the bakery, not one of them.
    assert service(templates)["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"] == {
        "Fn::Split": [",", {"Fn::ImportValue": {"Fn::Sub": "${NamePrefix}:subnet-ids"}}]
    }
    assert network_configuration["Subnets"] == [SUBNET_IDS]
    made, outputs = network(templates, mode)
    subnets = [ref.removeprefix("ref:") for ref in outputs["SubnetIds"].split(",")]
    zones = {made[name]["Properties"]["AvailabilityZone"]["Fn::Select"][0] for name in subnets}
    assert len(subnets) == len(zones) == 2, (subnets, zones)


def test_fargate_places_the_tasks_itself(templates):
    # Fargate takes no placement strategy or constraint: it spreads a service's tasks over its subnets' zones.
    props = service(templates)
    assert props["LaunchType"] == "FARGATE"
    assert templates["bot"]["Resources"]["TaskDefinition"]["Properties"]["RequiresCompatibilities"] == ["FARGATE"]
    assert not {"PlacementStrategies", "PlacementConstraints"} & set(props)


def test_the_stop_timeout_covers_the_long_poll_and_stays_within_fargates_limit(templates):
    stop_timeout = container(templates)["StopTimeout"]
    assert stop_timeout == 90 <= FARGATE_MAX_STOP_TIMEOUT
    # The bot's SQS long poll (bot/adapters/aws/sqs.py's default wait) returns well inside it, leaving the rest to the
    # in-flight jobs and to handing leases and messages back.
    [wait] = re.findall(r"wait_seconds: int = (\d+)", (ROOT / "bot/adapters/aws/sqs.py").read_text())
    assert int(wait) == 20
    assert stop_timeout - int(wait) >= 60


def test_without_a_load_balancer_there_is_no_grace_period_or_deregistration_delay_to_match(templates):
    # Socket Mode dials out: nothing registers the tasks, so StopTimeout is the whole stop budget.
    props = service(templates)
    assert not {"LoadBalancers", "HealthCheckGracePeriodSeconds"} & set(props)
    kinds = {r["Type"] for t in templates.values() for r in t["Resources"].values()}
    assert not {k for k in kinds if k.startswith("AWS::ElasticLoadBalancingV2::")}


def test_the_state_backend_is_a_parameter_the_task_is_told(templates):
    parameter = templates["bot"]["Parameters"]["StateBackend"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("dynamodb", ["dynamodb", "sqlite"])
    environment = {e["Name"]: e["Value"] for e in container(templates)["Environment"]}
    assert environment["BAKERY_STATE_BACKEND"] == {"Ref": "StateBackend"}
    # The start command compares it with bakery.yaml's state.backend before it becomes `bakery socket`.
    [command] = container(templates)["Command"]
    assert 'os.environ["BAKERY_STATE_BACKEND"]' in command and command.endswith("exec bakery socket")


def test_the_replicas_rule_is_conditional_on_more_than_one_task_and_asserts_dynamodb(templates):
    [(name, rule)] = templates["bot"]["Rules"].items()
    assert name == "ReplicasNeedDynamoDbState"
    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "DesiredCount"}, "1"]}]}
    [assertion] = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "StateBackend"}, "dynamodb"]}
    assert "DesiredCount above 1 needs StateBackend dynamodb" in assertion["AssertDescription"]


@pytest.mark.parametrize(("given", "refused"), [
    ({}, False),  # the defaults: two tasks on DynamoDB
    ({"DesiredCount": "2", "StateBackend": "sqlite"}, True),
    ({"DesiredCount": "10", "StateBackend": "sqlite"}, True),
    ({"DesiredCount": "1", "StateBackend": "sqlite"}, False),  # one process on its SQLite file (CONTRACT §15)
    ({"DesiredCount": "1", "StateBackend": "dynamodb"}, False),
    ({"DesiredCount": "3", "StateBackend": "dynamodb"}, False),
])  # fmt: skip
def test_the_stack_refuses_more_than_one_task_without_dynamodb(templates, given, refused):
    said = refusals(templates["bot"], **given)
    assert bool(said) is refused, said
