"""`bakery sandbox` as a user runs it, in its own process on a free port, driven through its JSON API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from bot.slack.text import STILL_CHECKING
from tests.fixtures.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
REQUESTER, APPROVER, OUTSIDER = "U0CAROL", "U0ALICE", "U0MALLORY"


class SandboxProcess:
    """Starts `python -m bot.cli sandbox --port 0` in a session of its own; `stop()` is Ctrl-C."""

    def __init__(
        self,
        *,
        stage_seconds: float = 0.05,
        refresh_seconds: float = 2.0,
        start_timeout: float = 60.0,
        args: tuple[str, ...] = (),
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLACK_", "BAKERY_"))}
        env.update(BAKERY_SANDBOX_STAGE_SECONDS=str(stage_seconds), BAKERY_SANDBOX_REFRESH_SECONDS=str(refresh_seconds))
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "sandbox", "--port", "0", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: Ctrl-C reaches it (and its children) only
        )
        self.stderr: list[str] = []
        self.stdout: list[str] = []  # what the terminal shows on stdout, the address line included
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.url = self._read_url(start_timeout)
        self.ready_after = time.monotonic() - self.started_at

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def _read_url(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        found: list[str] = []
        seen = threading.Event()

        def read() -> None:
            for line in self.proc.stdout:  # type: ignore[union-attr]
                self.stdout.append(line)
                if "open http://" in line and not found:
                    found.append(line.split("open ", 1)[1].split()[0])
                    seen.set()
            seen.set()  # the sandbox ended (or closed stdout) without an address

        threading.Thread(target=read, daemon=True).start()  # drains stdout until the sandbox exits
        seen.wait(timeout)
        if not found:
            self.kill()
            raise RuntimeError("the sandbox did not print its address; stderr:\n" + "".join(self.stderr[-40:]))
        return found[0]

    # --- the JSON API --------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if "json" in resp.headers.get("Content-Type", "") else raw.decode()
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def get(self, path: str) -> Any:
        status, body = self.request("GET", path)
        assert status == 200, (path, status, body)
        return body

    def command(self, user: str, text: str) -> dict[str, Any]:
        """The bot's answer: the immediate one, or, when it said it is still checking, the one that follows."""
        before = len(self.ephemerals(user))
        status, body = self.request("POST", "/api/command", {"user": user, "command": "/bake", "text": text})
        assert status == 200, (status, body)
        if isinstance(body, dict) and body.get("text") == STILL_CHECKING:
            # The page shows the acknowledgement, then the answer posted to the command's response_url.
            return self.wait(lambda: (shown := self.ephemerals(user))[before + 1 :] and shown[-1], what="the answer")
        return body

    def ephemerals(self, user: str) -> list[dict[str, Any]]:
        return [m for m in self.messages() if m.get("ephemeral_to") == user]

    def click(self, user: str, ts: str, action_id: str, value: str | None = None) -> tuple[int, Any]:
        body = {"user": user, "ts": ts, "action_id": action_id, **({"value": value} if value is not None else {})}
        return self.request("POST", "/api/click", body)

    def messages(self) -> list[dict[str, Any]]:
        return self.get("/api/messages")

    def bake_message(self, request_id: str) -> dict[str, Any] | None:
        for m in self.messages():
            # The bake's own header, not a train message that lists the bake as one of its hops.
            header = f"Bake `{request_id}` of"
            if not m.get("thread_ts") and not m.get("ephemeral_to") and header in json.dumps(m["blocks"]):
                return m
        return None

    def thread(self, ts: str) -> list[dict[str, Any]]:
        return [m for m in self.messages() if m.get("thread_ts") == ts and m["ts"] != ts]

    def approval_card(self, request_id: str) -> dict[str, Any] | None:
        """The approval card with its buttons: a reply in the bake's thread (the message only points to it)."""
        top = self.bake_message(request_id)
        replies = self.thread(top["ts"]) if top else []
        return next((m for m in replies if "bake_approve" in blocks_text(m) and not m.get("ephemeral_to")), None)

    def wait(self, predicate: Callable[[], T], timeout: float = 30.0, what: str = "condition") -> T:
        return wait_for(
            predicate, timeout, what, interval=0.1, explain=lambda: "stderr tail:\n" + "".join(self.stderr[-15:])
        )

    def aws(self, service: str, *, role: str = "") -> Any:
        """A boto3 client of the sandbox's local AWS (moto, or the stand-in that serves `service`), in the bakery's
        account; with `role`, in that role's account, with the credentials moto's STS gives for it."""
        import boto3

        endpoints = self.get("/api/info")["endpoints"]
        endpoint = endpoints.get(service, endpoints["moto"])
        keys = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}
        if role:
            found = self.aws("sts").assume_role(RoleArn=role, RoleSessionName="sandbox-test")["Credentials"]
            keys = {
                "aws_access_key_id": found["AccessKeyId"],
                "aws_secret_access_key": found["SecretAccessKey"],
                "aws_session_token": found["SessionToken"],
            }
        return boto3.Session().client(service, region_name="eu-west-1", endpoint_url=endpoint, **keys)

    # --- stopping ------------------------------------------------------------------------------------

    def stop(self, timeout: float = 20.0) -> int:
        """Ctrl-C, as a user stops it; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)

    def group_alive(self) -> bool:
        """Whether any process of the sandbox's process group is still running."""
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        return True


def request_id_of(answer: dict[str, Any]) -> str:
    text = answer["text"]
    assert "Bake `b-" in text, text
    return text.split("`")[1]


def blocks_text(message: dict[str, Any] | None) -> str:
    return json.dumps(message["blocks"]) if message else ""
