"""The leak sweep's deployment: its age limit is the builds' longest timeout, wherever that number is written."""

from __future__ import annotations

from bot.config.environment import DEFAULT_BUILD_TIMEOUT_MINUTES


def test_the_sweeps_age_limit_is_the_longest_build_timeout(templates):
    projects = templates["build-projects"]["Resources"]
    builds = [r["Properties"] for r in projects.values() if r["Type"] == "AWS::CodeBuild::Project"]
    longest = max(p["TimeoutInMinutes"] for p in builds)
    bot = templates["bot"]
    assert bot["Parameters"]["BuildTimeoutMinutes"]["Default"] == longest == int(DEFAULT_BUILD_TIMEOUT_MINUTES)
    [container] = bot["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["BAKERY_BUILD_TIMEOUT_MINUTES"] == {"Ref": "BuildTimeoutMinutes"}
