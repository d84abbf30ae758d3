"""The README's shell commands name files that exist: every repo path they pass, and every image they build.

A command in a ```sh block is read the way the shell would split it (quotes, comments, `|`, `&&`, `;`);
each argument that looks like a path in this repository must exist, or be made by an earlier README
command (`cp SRC DST`) or by `make` (the venv's entry points). `docker build` is checked further: its
Dockerfile must exist and everything it copies must be inside its context, which a directory existing
does not show (`packer/` exists, but has no Dockerfile of its own).
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest

from tests.infra.conftest import ROOT
from tests.infra.localstack import VENV as LOCALSTACK_VENV

README = ROOT / "README.md"
PATH_SUFFIXES = (".yaml", ".yml", ".py", ".hcl", ".sh", "Dockerfile")
OPERATORS = {"|", "||", "&&", ";", "&", "(", ")"}
# Flags whose value names something in AWS or a registry, not a file: an SSM parameter or secret name
# (`--name /bakery/config`, `--name ami-bakery/slack-bot-token`), a stack, an image tag, a JMESPath query.
NOT_PATH_FLAGS = {"--name", "--stack-name", "--secret-string", "--query", "--output", "--username", "--platform", "-t"}


def readme_commands(text: str | None = None) -> list[list[str]]:
    """Every simple command of the README's sh/bash/shell code blocks, as argument lists."""
    text = README.read_text() if text is None else text
    blocks = re.findall(r"^[ \t]*```(?:sh|bash|shell)[ \t]*\n(.*?)^[ \t]*```", text, re.DOTALL | re.MULTILINE)
    commands: list[list[str]] = []
    for line in (line for block in blocks for line in re.sub(r"\\\n", " ", block).splitlines()):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        current: list[str] = []
        for token in lexer:
            if token in OPERATORS:
                commands.append(current)
                current = []
            else:
                current.append(token)
        commands.append(current)
    return [command for command in commands if command]


def split_words(words: list[str]) -> list[str]:
    """The words after any leading VAR=value assignments."""
    index = 0
    while index < len(words) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[index]):
        index += 1
    return words[index:]


def path_arguments(command: list[str]) -> list[str]:
    """The arguments of one command that look like paths in this repository."""
    words = split_words(command)
    found = []
    for previous, word in zip(["", *words], words, strict=False):
        word = word.removeprefix("file://")  # the AWS CLI's "read this file" (file://bakery.yaml)
        if previous in NOT_PATH_FLAGS or word.startswith("-") or "$" in word or "=" in word or ":" in word:
            continue  # flags, their non-path values, variables, assignments, URLs and ARNs
        if word.startswith(("/", "~")):
            continue  # outside the repository (/tmp, absolute names)
        if "/" in word or word.endswith(PATH_SUFFIXES):
            found.append(word)
    return found


def made_by_make() -> set[str]:
    """What `make` (the README's first commands) creates: the venv's python and its entry points."""
    venv = re.search(r"^VENV\s*:?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert venv, "the Makefile no longer names its venv"
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    return {f"{venv.group(1)}/bin/{name}" for name in ["python", *scripts]}


def missing_paths(commands: list[list[str]]) -> list[tuple[str, str]]:
    """(command, path) for each path a command names that neither exists nor was made before it."""
    made, missing = made_by_make(), []
    for command in commands:
        words = split_words(command)
        if words[:1] in (["cp"], ["mv"]):  # the destination is made here, not read
            made.add([w for w in words[1:] if not w.startswith("-")][-1])
        for path in path_arguments(command if words[:1] not in (["cp"], ["mv"]) else command[:-1]):
            if path not in made and not (ROOT / path).exists():
                missing.append((shlex.join(command), path))
    return missing


def docker_builds(commands: list[list[str]]) -> list[tuple[str, str]]:
    """(context, Dockerfile) of each `docker build` / `docker buildx build` in the commands."""
    builds = []
    for command in commands:
        words = split_words(command)
        if words[:2] not in (["docker", "build"], ["docker", "buildx"]):
            continue
        rest = words[3:] if words[1] == "buildx" else words[2:]
        dockerfile, positional, index = None, [], 0
        while index < len(rest):
            word = rest[index]
            if word in ("-f", "--file"):
                dockerfile, index = rest[index + 1], index + 2
            elif word.startswith("--file="):
                dockerfile, index = word.split("=", 1)[1], index + 1
            elif word.startswith("-"):
                # every other flag in these commands takes a value (--platform, -t, --push has none)
                index += 1 if word == "--push" or "=" in word else 2
            else:
                positional.append(word)
                index += 1
        [context] = positional
        builds.append((context, dockerfile or str(Path(context) / "Dockerfile")))
    return builds


def copy_sources(dockerfile: Path) -> list[str]:
    """The context paths a Dockerfile's COPY/ADD instructions read (not those --from another stage)."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    sources = []
    for line in text.splitlines():
        words = line.split()
        if words[:1] and words[0].upper() in ("COPY", "ADD") and not any(w.startswith("--from") for w in words):
            sources += [w for w in words[1:-1] if not w.startswith("--")]
    return sources


# Words that start a command when an inline `code` span of the prose is one (`make run`, `infra/deploy.sh`).
COMMAND_WORDS = {"make", "bakery", "aws", "docker", "pip", "python", "python3", "git", "npm", "packer"}


def inline_commands(text: str | None = None) -> list[list[str]]:
    """The prose's inline `code` spans that are commands, without their `[optional]` parts."""
    text = README.read_text() if text is None else text
    text = re.sub(r"^[ \t]*```.*?^[ \t]*```", "", text, flags=re.DOTALL | re.MULTILINE)  # blocks: checked above
    commands = []
    for span in re.findall(r"`([^`\n]+)`", text):
        # `[--port P]` is optional; `<script>` a placeholder, matched as a glob (and not a shell redirection).
        required = re.sub(r"<[^>\s]+>", "*", re.sub(r"\[[^]]*\]", "", span))
        try:
            parsed = readme_commands("```sh\n" + required + "\n```\n")
        except ValueError:
            continue  # not shell (an unbalanced quote): prose, not a command
        for command in parsed:
            first = (split_words(command) or [""])[0]
            if first in COMMAND_WORDS or first.startswith((".venv/bin/", "infra/", ".ci/", "./")):
                commands.append(command)
    return commands


def inline_paths(text: str | None = None) -> list[str]:
    """The prose's inline `code` spans that are a path in this repository (`bot/wiring/`, `infra/`)."""
    text = README.read_text() if text is None else text
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"^[ \t]*```.*?^[ \t]*```", "", text, flags=re.DOTALL | re.MULTILINE))
    # A KMS alias (`alias/ami-bakery-ami`) looks like a path but names a key in AWS.
    return [
        s
        for s in spans
        if re.fullmatch(r"\.?[A-Za-z0-9_<>.-]+(/[A-Za-z0-9_<>.*-]+)*/?", s) and "/" in s and not s.startswith("alias/")
    ]


def made_by_the_readme() -> set[str]:
    """What `make` and the README's own `cp`/`mv` commands create (`cp bakery.example.yaml bakery.yaml`)."""
    made = made_by_make()
    for command in readme_commands():
        words = split_words(command)
        if words[:1] in (["cp"], ["mv"]):
            made.add([w for w in words[1:] if not w.startswith("-")][-1])
    # `make test` makes LocalStack's venv (tests/infra/localstack.py), which the README says where to find.
    made.add(str(LOCALSTACK_VENV.relative_to(ROOT)))
    return made | {f"./{m}" for m in made}


def _exists(path: str) -> bool:
    # `packer/images/<image>/` names every image's directory: at least one must match.
    pattern = re.sub(r"<[^>]+>", "*", path.rstrip("/"))
    return bool(list(ROOT.glob(pattern))) if "*" in pattern else (ROOT / path).exists()


def test_the_readme_has_shell_commands_to_check():
    commands = readme_commands()
    assert len(commands) > 20
    assert any(path_arguments(c) for c in commands)


def test_every_path_a_readme_command_names_exists():
    assert missing_paths(readme_commands()) == []


def test_every_path_an_inline_readme_command_names_exists():
    commands = inline_commands()
    assert any(split_words(c)[:1] == ["infra/deploy.sh"] for c in commands)  # `WITH_ENDPOINTS=0 infra/deploy.sh`
    made = made_by_the_readme()
    missing = [(shlex.join(c), p) for c in commands for p in path_arguments(c) if not _exists(p) and p not in made]
    programs = [(shlex.join(c), split_words(c)[0]) for c in commands if "/" in split_words(c)[0]]
    missing += [(command, program) for command, program in programs if not _exists(program) and program not in made]
    assert missing == []


def test_every_repository_path_the_readme_names_exists():
    paths = inline_paths()
    assert "packer/pipeline-contract.json" in paths and "infra/" in paths
    assert [p for p in paths if not _exists(p) and p not in made_by_the_readme()] == []


@pytest.mark.parametrize(("context", "dockerfile"), docker_builds(readme_commands()))
def test_every_readme_docker_build_finds_its_dockerfile_and_what_it_copies(context, dockerfile):
    assert (ROOT / dockerfile).is_file(), f"no Dockerfile at {dockerfile} (context {context})"
    for source in copy_sources(ROOT / dockerfile):
        assert list((ROOT / context).glob(source)), f"{dockerfile} copies {source}, not in context {context}"


def test_every_template_has_its_own_readme_deploy_command():
    """One command per step: each template, the member account's included, is deployed by a README command."""
    deployed = {
        words[words.index("--template-file") + 1]
        for words in map(split_words, readme_commands())
        if words[:3] == ["aws", "cloudformation", "deploy"] and "--template-file" in words
    }
    templates = {str(p.relative_to(ROOT)) for p in (ROOT / "infra" / "cloudformation").glob("*.yaml")}
    assert templates - deployed == set()


def test_the_member_account_step_grants_auto_scaling_the_key():
    grants = [split_words(c) for c in readme_commands() if split_words(c)[:3] == ["aws", "kms", "create-grant"]]
    [grant] = grants
    grantee = grant[grant.index("--grantee-principal") + 1]
    assert grantee.endswith(":role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling")


def test_the_checks_see_a_missing_path_and_a_build_without_a_dockerfile():
    """The checks themselves: the README's original build-image command, and a mistyped template."""
    broken = readme_commands(
        "```sh\n"
        "aws cloudformation deploy --template-file infra/cloudformation/nope.yaml --stack-name a/b  # x/y.sh\n"
        'docker buildx build --platform linux/amd64 -t "$REGISTRY/x:1" --push packer/\n'
        "```\n"
    )
    assert missing_paths(broken) == [(shlex.join(broken[0]), "infra/cloudformation/nope.yaml")]
    [(context, dockerfile)] = docker_builds(broken)
    assert (context, dockerfile) == ("packer/", "packer/Dockerfile") and not (ROOT / dockerfile).exists()
    prose = "Run `WITH_ENDPOINTS=0 infra/deploy-all.sh`, see `bot/nowhere.py` and `packer/images/<image>/`."
    assert [split_words(c)[0] for c in inline_commands(prose)] == ["infra/deploy-all.sh"]
    assert [p for p in inline_paths(prose) if not _exists(p)] == ["bot/nowhere.py"]
