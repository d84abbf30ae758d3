"""The bot's Dockerfile: linted, multi-stage from a pinned slim base, non-root, and what ECS expects of it."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from cfnlint.decode import decode

from tests.infra.conftest import ROOT, TEMPLATE_DIR

DOCKERFILE = ROOT / "Dockerfile"
BUILD_TOOLS = ("gcc", "g++", "make", "build-essential", "python3-dev", "libffi-dev", "libssl-dev", "git")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def base_image() -> str:
    [default] = [args for op, args in instructions() if op == "ARG" and args.startswith("PYTHON_IMAGE=")]
    return default.split("=", 1)[1]


def test_hadolint_finds_nothing():
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run([str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr


def test_base_is_slim_and_pinned_by_full_version_and_digest():
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", base_image())


def test_wheels_are_built_in_one_stage_and_installed_in_another():
    froms = [args for op, args in instructions() if op == "FROM"]
    assert froms == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]
    runs = " ".join(args for op, args in final_stage() if op == "RUN")
    assert "--mount=type=bind,from=build" in runs and "--no-index" in runs


def test_final_stage_has_no_build_tools_or_source_tree():
    final = final_stage()
    runs = " ".join(args for op, args in final if op == "RUN")
    assert not [tool for tool in BUILD_TOOLS if re.search(rf"apt-get install[^&;]*\b{re.escape(tool)}\b", runs)]
    assert [args for op, args in final if op in ("COPY", "ADD")] == []


def test_bot_runs_as_a_non_root_user_with_bakery_as_entrypoint():
    final = final_stage()
    [user] = [args for op, args in final if op == "USER"]
    assert user.split(":")[0] not in ("0", "root")
    assert [args for op, args in final if op == "ENTRYPOINT"] == ['["bakery"]']
    assert [args for op, args in final if op == "CMD"] == ['["socket"]']


def test_ecs_task_runs_as_the_images_user_in_the_directory_the_image_made():
    template, _ = decode(str(TEMPLATE_DIR / "bot.yaml"))
    [container] = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    [user] = [args for op, args in final_stage() if op == "USER"]
    assert container["User"] == user
    runs = " ".join(args for op, args in final_stage() if op == "RUN")
    for mount in container["MountPoints"]:
        if mount["ContainerPath"] != "/tmp":
            assert f"-o bakery -g bakery -m 0700 {mount['ContainerPath']}" in runs


def test_build_context_carries_only_what_the_wheel_build_reads():
    patterns = [p for p in (ROOT / ".dockerignore").read_text().splitlines() if p and not p.startswith("#")]
    assert patterns[0] == "*"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    wanted = {"!pyproject.toml", f"!{project['project']['readme']}"} | {f"!{p}/" for p in packages}
    assert {p for p in patterns if p.startswith("!")} == wanted
