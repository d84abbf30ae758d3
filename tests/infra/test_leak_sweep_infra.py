"""The leak sweep's deployment: its age limit is the longest build timeout; the bot may remove only marked things."""

from __future__ import annotations

from bot.config.environment import DEFAULT_BUILD_TIMEOUT_MINUTES
from tests.infra.cfn import ACCOUNT, ec2, role_statements


def test_the_sweeps_age_limit_is_the_longest_build_timeout(templates):
    projects = templates["build-projects"]["Resources"]
    builds = [r["Properties"] for r in projects.values() if r["Type"] == "AWS::CodeBuild::Project"]
    longest = max(p["TimeoutInMinutes"] for p in builds)
    bot = templates["bot"]
    assert bot["Parameters"]["BuildTimeoutMinutes"]["Default"] == longest == int(DEFAULT_BUILD_TIMEOUT_MINUTES)
    [container] = bot["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["BAKERY_BUILD_TIMEOUT_MINUTES"] == {"Ref": "BuildTimeoutMinutes"}


def test_the_bot_may_remove_only_what_carries_the_build_marker(templates, iam):
    role = role_statements(templates, "bot-role", "TaskRole")
    marked = {"aws:ResourceTag/bakery:build": "3f2504e0-4f89-41d3-9a0c-0305e82c3301"}
    fleet = {"aws:ResourceTag/bakery:image": "web", "aws:ResourceTag/Name": "web-fleet"}
    for action in ("ec2:DescribeInstances", "ec2:DescribeKeyPairs", "ec2:DescribeSecurityGroups"):
        assert iam.allowed(role, action, "*"), action
    removals = [
        ("ec2:TerminateInstances", ec2("instance/i-0123456789abcdef0")),
        ("ec2:DeleteKeyPair", ec2("key-pair/packer_3f2504e0")),
        ("ec2:DeleteSecurityGroup", ec2("security-group/sg-0123456789abcdef0")),
        # Builds run in each image's region, not only the bot's.
        ("ec2:TerminateInstances", f"arn:aws:ec2:eu-central-1:{ACCOUNT}:instance/i-0123456789abcdef0"),
    ]
    for action, resource in removals:
        assert iam.allowed(role, action, resource, **marked), (action, resource)
        assert not iam.allowed(role, action, resource, **fleet), (action, resource)
        assert not iam.allowed(role, action, resource), (action, resource)
    # Another Packer user's key, by name alone.
    assert not iam.allowed(role, "ec2:DeleteKeyPair", ec2("key-pair/packer_abc"))
