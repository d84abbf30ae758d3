"""The bot's Dockerfile: linted, multi-stage from a pinned slim base, non-root, and what ECS expects of it."""

from __future__ import annotations

import json
import re
import shlex
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


def volumes() -> list[str]:
    """The final stage's VOLUME paths (JSON array or space-separated form)."""
    paths: list[str] = []
    for op, args in final_stage():
        if op == "VOLUME":
            paths += json.loads(args) if args.lstrip().startswith("[") else args.split()
    return paths


def final_stage_commands() -> list[tuple[int, list[str]]]:
    """(instruction index, words) of every shell command the final stage's RUNs chain with && or ;."""
    return [
        (index, shlex.split(command))
        for index, (op, args) in enumerate(final_stage())
        if op == "RUN"
        for command in re.split(r"&&|;", args)
    ]


def made_directories() -> dict[str, tuple[str, str, int, int]]:
    """Directory -> (owner, group, mode, index of its RUN) for every `install -d` in the final stage."""
    made = {}
    for index, words in final_stage_commands():
        if words[:2] == ["install", "-d"]:
            options, rest = {}, words[2:]
            while rest and rest[0].startswith("-"):
                options[rest[0]], rest = rest[1], rest[2:]
            owner, group, mode = options.get("-o", "root"), options.get("-g", "root"), options.get("-m", "755")
            made |= {path: (owner, group, int(mode, 8), index) for path in rest}
    return made


def numeric_ids() -> dict[str, int]:
    """'user:NAME' and 'group:NAME' -> id, for the users and groups the final stage creates."""
    ids = {"user:root": 0, "group:root": 0}
    for _, words in final_stage_commands():
        if words[:1] == ["useradd"] and "--uid" in words:
            ids[f"user:{words[-1]}"] = int(words[words.index("--uid") + 1])
        if words[:1] == ["groupadd"] and "--gid" in words:
            ids[f"group:{words[-1]}"] = int(words[words.index("--gid") + 1])
    return ids


def bot_container() -> dict:
    template, _ = decode(str(TEMPLATE_DIR / "bot.yaml"))
    [container] = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    return container


def bot_parameters() -> dict:
    template, _ = decode(str(TEMPLATE_DIR / "bot.yaml"))
    parameters: dict = template["Parameters"]
    return parameters


def test_ecs_task_runs_as_the_images_user():
    [user] = [args for op, args in final_stage() if op == "USER"]
    assert bot_container()["User"] == user


def test_every_bind_mount_is_a_volume_the_image_made_writable_for_the_tasks_user():
    """Fargate makes an empty bind volume root-owned, mode 0755, unless the image declares a VOLUME at the
    same path; then it copies the image's directory (owner and mode too). So each mount path must be a
    VOLUME, made before it (a build discards later changes) owned by the task's uid and gid, owner-writable."""
    container = bot_container()
    mount_paths = sorted(mount["ContainerPath"] for mount in container["MountPoints"])
    assert sorted(volumes()) == mount_paths
    uid, gid = (int(part) for part in container["User"].split(":"))
    ids, made = numeric_ids(), made_directories()
    [volume_index] = [i for i, (op, _) in enumerate(final_stage()) if op == "VOLUME"]
    assert not [args for op, args in final_stage()[volume_index:] if op == "RUN"], "RUN after VOLUME"
    for path in mount_paths:
        assert path in made, f"{path} is not made with install -d before VOLUME"
        owner, group, mode, index = made[path]
        assert (ids.get(f"user:{owner}"), ids.get(f"group:{group}")) == (uid, gid), path
        assert mode & 0o700 == 0o700 and index < volume_index, (path, oct(mode))


def test_the_start_command_writes_only_inside_the_volumes():
    """The root filesystem is read-only: the config file and the work directory must lie in a volume."""
    environment = {item["Name"]: item["Value"] for item in bot_container()["Environment"]}
    for name in ("BAKERY_CONFIG", "BAKERY_WORKDIR"):
        assert any(environment[name].startswith(f"{v.rstrip('/')}/") for v in volumes()), name
    assert environment["BAKERY_WORKDIR"] in made_directories()


def test_build_context_carries_only_what_the_wheel_build_reads():
    patterns = [p for p in (ROOT / ".dockerignore").read_text().splitlines() if p and not p.startswith("#")]
    assert patterns[0] == "*"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    wanted = {"!pyproject.toml", "!uv.lock", f"!{project['project']['readme']}"} | {f"!{p}/" for p in packages}
    wanted |= {f"!locks/{name}" for name in ("uv.txt", "build.txt")}  # the locked tools the build stage runs
    assert {p for p in patterns if p.startswith("!")} == wanted


def pip_commands() -> list[str]:
    """Every pip (install or wheel) command of every RUN, whichever stage."""
    runs = [args for op, args in instructions() if op == "RUN"]
    commands = [c.strip() for run in runs for c in re.split(r"&&|;", run)]
    return [c for c in commands if re.search(r"\bpip (install|wheel)\b", c)]


def test_every_pip_install_reads_a_lock_with_hashes():
    """Each pip command takes a hashed lock (locks/*.txt, or uv.lock exported), or is the bot's own wheel, built
    from the context or installed from it without dependencies."""
    commands = pip_commands()
    assert len(commands) >= 5, commands
    for command in commands:
        hashed = "--require-hashes" in command and re.search(r" -r (locks/\w+\.txt|/\S+\.txt)\b", command)
        own_wheel = "--no-deps" in command and re.search(r"(\s\.$|/wheels/ami_bakery-\*\.whl$)", command)
        assert hashed or own_wheel, command
        assert "--index-url" not in command and "--extra-index-url" not in command, command
    # What -r reads from /wheels or /tmp is uv.lock exported by the frozen uv; nothing is resolved anew.
    exports = [args for op, args in instructions() if op == "RUN" and "uv export" in args]
    assert exports and all(e.count("uv export --frozen") == e.count("uv export") for e in exports)
    exported = set(re.findall(r"uv export [^&]*-o (\S+)", " ".join(exports)))
    read = {m for c in commands for m in re.findall(r" -r (/\S+\.txt)", c)}
    assert read <= exported, read - exported


def test_the_runtime_installs_only_the_build_stages_wheels_checked_again():
    runs = " ".join(args for op, args in final_stage() if op == "RUN")
    installs = [c for c in pip_commands() if c in runs]
    assert installs and all("--no-index" in c for c in installs)
    assert any("--require-hashes -r /wheels/requirements.txt" in c for c in installs)


SBOM_PATH = "/usr/share/doc/ami-bakery/sbom.cdx.json"


def test_the_image_carries_a_cyclonedx_sbom_of_its_environment_and_the_readme_says_where():
    [run] = [args for op, args in final_stage() if op == "RUN" and "cyclonedx-py" in args]
    assert "--mount=type=bind,from=build,source=/opt/cyclonedx,target=/opt/cyclonedx" in run
    assert re.search(rf"cyclonedx-py environment .*--output-file {re.escape(SBOM_PATH)} /usr/local/bin/python", run)
    steps = final_stage()
    sbom = next(i for i, (op, args) in enumerate(steps) if op == "RUN" and "cyclonedx-py" in args)
    install = next(i for i, (op, args) in enumerate(steps) if op == "RUN" and "/wheels/requirements.txt" in args)
    assert install < sbom, "the SBOM describes the environment after the bot is installed"
    assert SBOM_PATH in (ROOT / "README.md").read_text()
