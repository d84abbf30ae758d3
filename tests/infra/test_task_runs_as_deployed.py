"""The bot's task starts as ECS runs it: its start command, uid 10001, a read-only root and fresh bind volumes.

There is no Docker daemon here, so the container is simulated with what it is made of. In a mount namespace of
its own (unshare, as root) every mount is remounted read-only, and each of bot.yaml's MountPoints gets a fresh
directory made the way ECS makes a task's bind volume (ECS developer guide, "Bind mounts"): a copy of the image's
directory when the image declares that path a VOLUME (owner and mode from the Dockerfile's `install -d`), else
root-owned with mode 0755. Then bot.yaml's EntryPoint + Command run as the task definition's User, with its
Environment and Secrets plus the Dockerfile's ENV, against local stand-ins (Slack and its Socket Mode link, moto).
The host is untouched: the namespace's mounts vanish with it.

Skipped, saying why, where that is impossible (not root, no unshare or setpriv); test_bot_dockerfile.py ties the
same paths together structurally either way.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from bot.commands import parser as commands
from tests.fixtures.bakery import slash_form
from tests.fixtures.socket_mode import LinkedSlackApi, LocalSocketModeLink
from tests.fixtures.waiting import wait_for
from tests.infra.test_bot_dockerfile import (
    bot_container,
    bot_parameters,
    final_stage,
    made_directories,
    numeric_ids,
    volumes,
)

VENV_BIN = Path(sys.executable).parent
CHECKOUT = Path(__file__).resolve().parents[2]  # the bot's code and .venv: in the image, /usr/local and /app
STAGING = "/srv"  # an existing directory nothing here needs, covered by a scratch tmpfs in the namespace
CONFIG = """\
slack: {channel: C0BAKERY}
access: {bakers: ["*"]}
state: {backend: dynamodb, table: ami-bakery-state}
images:
  base: {repository: "codecommit://ami-bakery-base", pipeline: ami-bakery-base}
"""


def _can_simulate() -> str | None:
    if os.geteuid() != 0:
        return "needs root (a mount namespace, and setpriv to uid 10001)"
    for tool in ("unshare", "setpriv", "mount"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True)
    return None if probe.returncode == 0 else f"unshare --mount is refused here: {probe.stderr.decode()[:200]}"


pytestmark = pytest.mark.skipif(bool(_can_simulate()), reason=str(_can_simulate()))


def image_env() -> dict[str, str]:
    """The final stage's ENV, as the image carries it."""
    env = {}
    for op, args in final_stage():
        if op == "ENV":
            env.update(dict(word.split("=", 1) for word in shlex.split(args.replace("\\\n", " "))))
    return env


def home_of_the_images_user() -> str:
    for op, args in final_stage():
        words = shlex.split(args.replace("\\\n", " ")) if op == "RUN" else []
        if "useradd" in words:
            return words[words.index("--home-dir") + 1]
    raise AssertionError("the image makes no user")


def make_volume(source: Path, container_path: str, *, declared: bool) -> None:
    """A task's empty bind volume as ECS makes it: the image's directory copied, or root's 0755."""
    source.mkdir(parents=True)
    if declared:
        owner, group, mode, _ = made_directories()[container_path]
        ids = numeric_ids()
        os.chown(source, ids[f"user:{owner}"], ids[f"group:{group}"])
        source.chmod(mode)
    else:
        os.chown(source, 0, 0)
        source.chmod(0o755)


def _reachable_python() -> list[str]:
    """Mounts that let uid 10001 reach this test's Python, as it reaches the image's /usr/local/bin/python.

    Here the interpreter may live under a directory only root may enter (pyenv in /root, mode 0700). In the
    namespace that directory is covered by a tmpfs anyone may enter, with just the interpreter's subtree bound
    back into it; nothing of the host changes.
    """
    real = Path(os.path.realpath(sys.executable))
    for parent in reversed(real.parents):
        if parent != Path("/") and not parent.stat().st_mode & stat.S_IXOTH:
            child = real.relative_to(parent).parts[0]
            kept = f"{STAGING}/python"
            return [
                f"mkdir {kept} && mount --bind {shlex.quote(str(parent / child))} {kept}",
                f"mount -t tmpfs -o mode=0755 tmpfs {shlex.quote(str(parent))}",
                f"mkdir {shlex.quote(str(parent / child))}",
                f"mount --bind {kept} {shlex.quote(str(parent / child))}",
            ]
    return []


class Task:
    """bot.yaml's container, started in a read-only mount namespace with its bind volumes."""

    def __init__(self, root: Path, slack: LinkedSlackApi, *, declared: set[str], **parameters: str):
        self.root = root
        container = bot_container()
        self.user = container["User"]
        self.mounts = {m["ContainerPath"]: root / "volumes" / m["SourceVolume"] for m in container["MountPoints"]}
        for path, source in self.mounts.items():
            make_volume(source, path, declared=path in declared)
        # A !Ref of one of bot.yaml's parameters: the value given here, else the parameter's default; the rest
        # (AWS::Region ...) are set below.
        given = {**{k: str(v["Default"]) for k, v in bot_parameters().items() if "Default" in v}, **parameters}
        environment = {e["Name"]: e["Value"] for e in container["Environment"]}
        environment = {k: given.get(v["Ref"], v) if isinstance(v, dict) and "Ref" in v else v
                       for k, v in environment.items()}
        environment = {k: v for k, v in environment.items() if isinstance(v, str)}
        self.env = {
            **image_env(), **environment,
            "HOME": home_of_the_images_user(),
            "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
            "AWS_REGION": os.environ["AWS_REGION"], "AWS_DEFAULT_REGION": os.environ["AWS_REGION"],
            "BAKERY_BUILD_TIMEOUT_MINUTES": "90",
            # Secrets, as ECS injects them.
            "SLACK_BOT_TOKEN": slack.token, "SLACK_APP_TOKEN": slack.app_token, "BAKERY_CONFIG_YAML": CONFIG,
            # Where the stand-ins are (the task would reach Slack and AWS).
            "SLACK_API_URL": slack.base_url,
            **{k: v for k, v in os.environ.items() if k.startswith("AWS_") and k not in ("AWS_REGION",)},
        }
        self.argv = [*container["EntryPoint"], *container["Command"]]
        self.log = root / "task.log"

    def script(self) -> str:
        """Root's part, inside the namespace: read-only mounts, the volumes, then the task as its user."""
        uid, gid = self.user.split(":")
        lines = [
            "set -eu",
            # Every mount read-only (the root filesystem and whatever else is mounted), but the kernel's.
            "findmnt -rn -o TARGET | grep -Ev '^/(proc|sys|dev)(/|$)' | while read -r m; do "
            "mount -o remount,bind,ro \"$m\" 2>/dev/null || true; done",
            "if touch /.rw-probe 2>/dev/null; then rm -f /.rw-probe; echo 'the root is writable' >&2; exit 97; fi",
            # The volumes' sources may lie under a path a volume covers (/tmp): stage them on a scratch tmpfs.
            f"mount -t tmpfs -o mode=0700 tmpfs {STAGING}",
        ]
        # A bind mount keeps its source mount's read-only flag: each is made writable again, as a volume is.
        for index, (_, source) in enumerate(sorted(self.mounts.items())):
            lines.append(f"mkdir {STAGING}/{index} && mount --bind {shlex.quote(str(source))} {STAGING}/{index}"
                         f" && mount -o remount,bind,rw {STAGING}/{index}")
        lines += _reachable_python()
        # The checkout stands in for the image's code; a clone under /tmp would vanish under the /tmp volume.
        covered = [p for p in self.mounts if CHECKOUT.is_relative_to(p)]
        if covered:
            lines.append(f"mkdir {STAGING}/code && mount --bind {shlex.quote(str(CHECKOUT))} {STAGING}/code")
        for path in sorted(self.mounts):
            # A mount point must exist: a scratch tmpfs over its parent stands in for the image's tree.
            parent = str(Path(path).parent)
            lines.append(f"[ -d {shlex.quote(path)} ] || mount -t tmpfs -o mode=0755 tmpfs {shlex.quote(parent)}")
            lines.append(f"[ -d {shlex.quote(path)} ] || mkdir {shlex.quote(path)}")
        for index, path in enumerate(sorted(self.mounts)):
            lines.append(f"mount --bind {STAGING}/{index} {shlex.quote(path)}"
                         f" && mount -o remount,bind,rw {shlex.quote(path)}")
        if covered:
            code = shlex.quote(str(CHECKOUT))
            lines.append(f"mkdir -p {code} && mount --bind {STAGING}/code {code} && mount -o remount,bind,ro {code}")
        workdir = home_of_the_images_user()
        lines.append(f"cd {shlex.quote(workdir)}")
        lines.append(f"exec setpriv --reuid {uid} --regid {gid} --clear-groups --inh-caps=-all "
                     f"env -i {' '.join(shlex.quote(f'{k}={v}') for k, v in self.env.items())} "
                     f"{shlex.join(self.argv)}")
        return "\n".join(lines)

    def start(self) -> subprocess.Popen:
        with self.log.open("w") as log:
            return subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "bash", "-c", self.script()],
                stdout=log, stderr=subprocess.STDOUT,
            )


@pytest.fixture
def state_table(moto_endpoint: str) -> None:
    from bot.state.dynamodb import ensure_table

    ensure_table(boto3.client("dynamodb"), "ami-bakery-state")


@pytest.fixture
def running(
    tmp_path: Path, linked_slack: LinkedSlackApi, socket_link: LocalSocketModeLink, state_table
) -> Iterator[Task]:
    task = Task(tmp_path, linked_slack, declared=set(volumes()))
    proc = task.start()
    try:
        wait_for(lambda: socket_link.connected.is_set() or proc.poll() is not None, timeout=30,
                 what="the task to connect", explain=lambda: task.log.read_text())
        assert socket_link.connected.is_set(), f"the task ended (exit {proc.poll()}):\n{task.log.read_text()}"
        yield task
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def test_the_task_writes_its_config_into_its_volume_and_starts(running, socket_link):
    config_path = Path(running.env["BAKERY_CONFIG"])
    [(mount, source)] = [(m, s) for m, s in running.mounts.items() if config_path.is_relative_to(m)]
    written = source / config_path.relative_to(mount)
    info = written.stat()
    assert written.read_text() == CONFIG + "\n"
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (10001, 0o600)  # umask 077: the owner's only
    envelope_id = str(uuid.uuid4())
    socket_link.send({"envelope_id": envelope_id, "type": "slash_commands", "accepts_response_payload": True,
               "payload": slash_form("U0CAROL", "help")})
    assert socket_link.reply(envelope_id)["payload"]["text"].startswith(commands.USAGE)
    assert "Read-only file system" not in running.log.read_text()
    assert "Permission denied" not in running.log.read_text()


def test_without_the_images_volumes_the_task_cannot_write_its_config(tmp_path, linked_slack, state_table):
    # Finding 1 as it was: ECS's root-owned 0755 bind volumes, which uid 10001 cannot write.
    task = Task(tmp_path, linked_slack, declared=set())
    proc = task.start()
    assert proc.wait(timeout=30) != 0
    assert "Permission denied" in task.log.read_text()


def test_the_task_refuses_to_start_when_bakery_yaml_names_another_state_backend(tmp_path, linked_slack, state_table):
    # The stack says sqlite (one task), the file dynamodb: the stack's Rules were checked against the wrong value.
    task = Task(tmp_path, linked_slack, declared=set(volumes()), StateBackend="sqlite")
    proc = task.start()
    assert proc.wait(timeout=30) == 1
    said = task.log.read_text()
    assert ("error: bakery.yaml says state.backend: dynamodb, but the bot stack's StateBackend is sqlite; set the same"
            " in both (two or more tasks need dynamodb)") in said
    assert "Traceback" not in said
