"""Several `bakery serve` processes on one local world (world.py): the replica tests' harness.

Each replica is `python -m bot.cli serve --port 0`, in a session of its own, on the same table, queue and
signing secret; `BAKERY_FAILPOINTS` and other variables can be set per replica. Slack requests are signed and
sent to the replica a test names.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bot.sandbox.slack.requests import click_payload, command_form, send_signed
from bot.slack.text import STILL_CHECKING
from tests.fixtures.bakery import git_log
from tests.fixtures.waiting import wait_for, wait_idle
from tests.replicas.world import World

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
CHANNEL = "C0BAKERY"
REQUESTER, APPROVER = "U0CAROL", "U0ALICE"


@dataclass
class Replica:
    index: int
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path
    env: dict[str, str] = field(repr=False)


class Replicas:
    """N `bakery serve` processes on one World. Index them 0..N-1 in every call."""

    def __init__(self, world: World, workdir: Path):
        self.world = world
        self._workdir = workdir
        self._replicas: dict[int, Replica] = {}
        self._extra: dict[int, dict[str, str]] = {}
        # The world outlives a test: what it counted before this test's replicas is not theirs.
        self._decisions_before = len(world.sandbox.codepipeline.decisions())

    # --- processes ------------------------------------------------------------------------------

    def start(
        self, count: int = 2, *, failpoints: dict[int, str] | None = None, env: dict[int, dict[str, str]] | None = None
    ) -> Replicas:
        """Start `count` replicas at once (each with its own workdir) and wait until each prints its address."""
        for i in range(count):
            extra = dict((env or {}).get(i, {}))
            if failpoints and i in failpoints:
                extra["BAKERY_FAILPOINTS"] = failpoints[i]
            self._extra[i] = extra
        launched = [self._launch(i) for i in range(count)]
        for i, (proc, log_path) in enumerate(launched):
            self._replicas[i] = Replica(i, proc, self._read_url(proc, log_path), log_path, self._env(i))
        return self

    def launch(self, i: int, env: dict[str, str] | None = None) -> None:
        """Start one more replica, numbered `i` (not running yet), and wait for its address."""
        assert i not in self._replicas or self._replicas[i].proc.poll() is not None, f"replica {i} is running"
        self._extra[i] = dict(env or {})
        proc, log_path = self._launch(i)
        self._replicas[i] = Replica(i, proc, self._read_url(proc, log_path), log_path, self._env(i))

    def _env(self, i: int) -> dict[str, str]:
        env = dict(self.world.sandbox.environ)
        env["BAKERY_WORKDIR"] = str(self._workdir / f"replica-{i}")
        env.update(self._extra.get(i, {}))
        return env

    def _launch(self, i: int) -> tuple[subprocess.Popen[bytes], Path]:
        log_path = self._workdir / f"replica-{i}.log"
        # With any BAKERY_TEST_ timing set, through the launcher that hands it to build_bot (serve.py).
        module = "tests.replicas.serve" if any(k.startswith("BAKERY_TEST_") for k in self._env(i)) else "bot.cli"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", module, "serve", "--host", "127.0.0.1", "--port", "0", "--threads", "8"],
                cwd=ROOT,
                env=self._env(i),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: signals reach it only
            )
        return proc, log_path

    def _read_url(self, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 30.0) -> str:
        def address() -> str | None:
            for line in log_path.read_text(errors="replace").splitlines():
                if line.startswith("ami-bakery listening on "):
                    return line.split()[3]
            if proc.poll() is not None:
                raise RuntimeError(f"the replica exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
            return None

        return wait_for(address, timeout, "a replica's address", explain=lambda: log_path.read_text()[-3000:])

    def url(self, i: int) -> str:
        return self._replicas[i].url

    def _signal(self, i: int, sig: signal.Signals) -> None:
        self._replicas[i].proc.send_signal(sig)

    def kill(self, i: int) -> None:
        """SIGKILL: the replica dies at once, mid-whatever."""
        self._signal(i, signal.SIGKILL)
        self._replicas[i].proc.wait(10)

    def stop(self, i: int, timeout: float = 30.0) -> int:
        """SIGTERM, then wait for the exit; returns the exit status."""
        self._signal(i, signal.SIGTERM)
        return self._replicas[i].proc.wait(timeout)

    def terminate(self, i: int) -> None:
        """SIGTERM, without waiting: the test watches the stop (wait_exit)."""
        self._signal(i, signal.SIGTERM)

    def process(self, i: int) -> subprocess.Popen[bytes]:
        return self._replicas[i].proc

    def wait_exit(self, i: int, timeout: float = 30.0) -> int:
        """Until replica `i` has exited (a failpoint's SIGKILL: -9); its exit status."""
        proc = self._replicas[i].proc
        wait_for(lambda: proc.poll() is not None, timeout, f"replica {i} to exit", explain=lambda: self.logs(i)[-3000:])
        return proc.returncode

    def pause(self, i: int) -> None:
        self._signal(i, signal.SIGSTOP)

    def resume(self, i: int) -> None:
        self._signal(i, signal.SIGCONT)

    def restart(self, i: int) -> None:
        """A dead (or stopped) replica started again, on the same workdir, with the same environment."""
        old = self._replicas[i]
        if old.proc.poll() is None:
            self.kill(i)
        proc, log_path = self._launch(i)
        self._replicas[i] = Replica(i, proc, self._read_url_after(proc, log_path, old.url), log_path, old.env)

    def _read_url_after(self, proc: subprocess.Popen[bytes], log_path: Path, old_url: str) -> str:
        """The address the restarted process prints (its log file is appended to: the old lines stay)."""
        seen = log_path.read_text(errors="replace").count("ami-bakery listening on ")

        def fresh() -> str | None:
            text = log_path.read_text(errors="replace")
            lines = [x for x in text.splitlines() if x.startswith("ami-bakery listening on ")]
            if proc.poll() is not None:
                raise RuntimeError(f"the replica exited ({proc.returncode}):\n{text[-3000:]}")
            return lines[-1].split()[3] if len(lines) > seen else None

        return wait_for(fresh, 30.0, f"the restarted replica's address (was {old_url})")

    def health(self, i: int) -> dict[str, Any]:
        """Replica `i`'s GET /healthz."""
        with urllib.request.urlopen(f"{self.url(i)}/healthz", timeout=10) as reply:  # noqa: S310 - loopback
            return dict(json.loads(reply.read()))

    def wait_idle(self, i: int, timeout: float = 30.0) -> None:
        """Until replica `i` owes Slack no message and runs no bake job, for a moment (its /healthz counters)."""
        wait_idle(_Remote(self, i), timeout=timeout)

    def logs(self, i: int) -> str:
        return self._replicas[i].log_path.read_text(errors="replace")

    def close(self) -> None:
        for replica in self._replicas.values():
            if replica.proc.poll() is None:
                replica.proc.send_signal(signal.SIGCONT)
                replica.proc.kill()
                replica.proc.wait(10)
        self._replicas.clear()

    # --- Slack, sent to one replica -------------------------------------------------------------

    def post_command(self, i: int, user: str, text: str, *, channel: str = CHANNEL) -> dict[str, Any]:
        """`/bake <text>` typed by `user`, sent to replica `i`; the answer (the ack's, or the response_url's)."""
        slack = self.world.slack
        response_url = slack.response_url(channel, user)
        form = command_form(
            user=user, user_name=user.lower(), channel=channel, command="/bake", text=text,
            trigger_id=_trigger(), response_url=response_url,
        )  # fmt: skip
        reply = self._send(i, form)
        answer = json.loads(reply.text) if reply.text else {}
        if answer.get("text") == STILL_CHECKING or not answer:
            return wait_for(lambda: self._response_to(response_url), what=f"the answer to /bake {text}")
        return dict(answer)

    def _response_to(self, response_url: str) -> dict[str, Any] | None:
        posts = [c.args for c in self.world.slack.calls("response_url") if c.args["response_url"] == response_url]
        return posts[-1] if posts else None

    def click(self, i: int, user: str, message: dict[str, Any], action_id: str, *, value: str | None = None) -> int:
        """Press button `action_id` of `message` as `user`, sent to replica `i`; the HTTP status."""
        for block in message.get("blocks") or []:
            accessory = [block["accessory"]] if "accessory" in block else []
            for element in [*(block.get("elements") or []), *accessory]:
                if element.get("action_id") == action_id and (value is None or element.get("value") == value):
                    payload = click_payload(
                        user=user, user_name=user.lower(), channel=message["channel"], message=message,
                        block_id=block.get("block_id", ""), button=element, trigger_id=_trigger(),
                        response_url=self.world.slack.response_url(message["channel"], user),
                    )  # fmt: skip
                    return self._send(i, {"payload": json.dumps(payload)}).status
        raise AssertionError(f"no {action_id} button in {json.dumps(message.get('blocks'))}")

    def _send(self, i: int, form: dict[str, str]) -> Any:
        reply = send_signed(
            self.url(i), urllib.parse.urlencode(form), secret=self.world.sandbox.environ["SLACK_SIGNING_SECRET"]
        )
        assert reply.status == 200, (reply.status, reply.text)
        return reply

    # --- what users and services saw ------------------------------------------------------------

    def messages(self) -> list[dict[str, Any]]:
        """The channel's messages as the replicas left them (the sandbox's welcome is not posted here)."""
        return [m for m in self.world.slack.messages() if m["channel"] == CHANNEL]

    def bake_messages(self, request_id: str) -> list[dict[str, Any]]:
        """Every top-level message naming the bake (private answers aside): exactly one when it was posted once."""
        return [
            m
            for m in self.messages()
            if not m.get("thread_ts") and not m.get("ephemeral_to") and f"`{request_id}`" in json.dumps(m.get("blocks"))
        ]

    def commits(self, image: str) -> list[dict[str, str]]:
        """The image's branch, newest first (git log of the local CodeCommit's bare repository)."""
        sandbox = self.world.sandbox
        repositories = sandbox.codecommit.in_account(sandbox.config.bakery_account)
        return git_log(repositories.bare_path(f"ami-bakery-{image}"))

    def bake_commits(self, image: str, request_id: str) -> list[dict[str, str]]:
        return [c for c in self.commits(image) if c["request"] and c["request"].get("request_id") == request_id]

    def approval_results(self) -> int:
        """How many put_approval_result calls the local CodePipeline accepted (during this test)."""
        return len(self.world.sandbox.codepipeline.decisions()) - self._decisions_before

    def refreshes_started(self) -> int:
        """How many StartInstanceRefresh calls the local Auto Scaling accepted."""
        return len(self.world.faults.calls("autoscaling", "StartInstanceRefresh", ok=True))

    def wait(self, predicate: Callable[[], T], timeout: float = 30.0, what: str = "condition") -> T:
        def explain() -> str:
            calls = [f"{c.method}:{c.status}:{c.error or 'ok'}" for c in self.world.slack.calls()][-40:]
            faults = [f"{s.service}.{s.operation}:{s.status}:{s.fault}" for s in self.world.faults.calls() if s.fault]
            logs = "\n".join(f"--- replica {i}\n{self.logs(i)[-2500:]}" for i in self._replicas)
            shown = [(m["ts"], m.get("thread_ts"), m["text"][:100]) for m in self.messages()]
            return f"slack calls: {calls}\naws faults met: {faults}\nchannel: {shown}\n{logs}"

        return wait_for(predicate, timeout, what, explain=explain)


class _Remote:
    """A replica seen as wait_idle sees a bot: its health()."""

    def __init__(self, replicas: Replicas, i: int):
        self._replicas, self._i = replicas, i

    def health(self) -> dict[str, Any]:
        return self._replicas.health(self._i)


def _trigger() -> str:
    return f"{int(time.time())}.{uuid.uuid4().int % 10**9}"
