"""Socket Mode: slash commands arrive unsigned over the app's websocket, and the answer goes back on it.

Slack's websocket end is played by `LocalSocketModeLink`, a few dozen lines of RFC 6455 on 127.0.0.1, and
the Slack stand-in hands out its address from `apps.connections.open`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import signal
import socket
import struct
import subprocess
import sys
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from slack_bolt.request import BoltRequest

from bot.app import build_app
from bot.commands import parser as commands
from bot.config import Environment, parse_config
from bot.sandbox.slack.api import SlackApiStandIn
from bot.wiring import Bot, build_bot
from tests.fixtures.bakery import REGION, SIGNING_SECRET, make_bare_repo, slash_form
from tests.fixtures.slack import CHANNEL, PLATFORM_GROUP, PLATFORM_MEMBERS

BAKERY = Path(sys.executable).with_name("bakery")
CONFIG = """
slack: {{channel: C0BAKERY}}
access: {{bakers: ["*"]}}
state: {{path: {state}}}
images:
  base: {{repository: {repo}, pipeline: ami-bakery-base}}
"""
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def write_config(root: Path) -> Path:
    path = root / "bakery.yaml"
    path.write_text(CONFIG.format(state=root / "state.db", repo=make_bare_repo(root / "remotes", "base")))
    return path


@pytest.fixture
def services(slack_api: SlackApiStandIn, tmp_path: Path) -> Iterator[Bot]:
    """The bot's services as `bakery socket` builds them, with a signing secret so HTTP mode can be compared."""
    env = Environment(
        slack_bot_token=slack_api.token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack_api.base_url,
        aws_region=REGION,
        workdir=str(tmp_path / "work"),
    )
    built = build_bot(
        parse_config(write_config(tmp_path).read_text()), env, session=boto3.Session(region_name=REGION)
    )
    try:
        yield built
    finally:
        built.stop()


def test_the_socket_mode_app_answers_an_unsigned_slash_command(services):
    app = build_app(services, socket_mode=True)
    response = app.dispatch(BoltRequest(body=slash_form("U0CAROL", "help"), mode="socket_mode"))
    assert response.status == 200, response.body
    assert json.loads(response.body)["text"].startswith(commands.USAGE)


def test_the_http_app_refuses_the_same_command_unsigned(services):
    # Over HTTP the body is the raw form and the signature headers are absent. (A request tagged
    # mode="socket_mode" skips Bolt's verification whatever the app says: only the websocket makes those.)
    app = build_app(services)
    response = app.dispatch(BoltRequest(body=urllib.parse.urlencode(slash_form("U0CAROL", "help"))))
    assert response.status == 401


# --- `bakery socket` against a local Socket Mode link -----------------------------------------------


class LocalSocketModeLink:
    """Slack's side of one Socket Mode websocket: says hello, sends envelopes, collects the app's replies."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link"
        self.replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self.connected = threading.Event()
        self._conn: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="socket-mode-link", daemon=True)
        self._thread.start()

    def send(self, doc: dict[str, Any]) -> None:
        self._send_frame(TEXT, json.dumps(doc).encode())

    def reply(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        while True:
            doc = self.replies.get(timeout=timeout)
            if doc.get("envelope_id") == envelope_id:
                return doc

    def close(self) -> None:
        self._listener.close()
        if self._conn is not None:
            self._conn.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except OSError:  # closed before the app connected
            return
        self._conn = conn
        stream = conn.makefile("rb")
        try:
            self._handshake(conn, stream)
            self.send({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0BAKERY"}})
            self.connected.set()
            while (frame := _read_frame(stream)) is not None:
                opcode, payload = frame
                if opcode == TEXT:
                    self.replies.put(json.loads(payload))
                elif opcode == PING:  # the client checks the link with pings; an unanswered one is a dead link
                    self._send_frame(PONG, payload)
                elif opcode == CLOSE:
                    break
        except OSError:  # the app went away: nothing left to serve
            pass
        finally:
            stream.close()

    def _handshake(self, conn: socket.socket, stream: Any) -> None:
        headers = {}
        while (line := stream.readline().decode()) not in ("\r\n", ""):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        key = headers["sec-websocket-key"] + WEBSOCKET_GUID
        accept = base64.b64encode(hashlib.sha1(key.encode()).digest())  # noqa: S324 - RFC 6455 prescribes SHA-1
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        # Server frames are unmasked (RFC 6455 §5.1); lengths past 125 take the 16- or 64-bit form.
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, n)
        elif n < 1 << 16:
            head = struct.pack("!BBH", 0x80 | opcode, 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
        with self._send_lock:
            assert self._conn is not None
            self._conn.sendall(head + payload)


def _read_frame(stream: Any) -> tuple[int, bytes] | None:
    """One client frame, unmasked; None at end of stream. Clients always mask (RFC 6455 §5.3)."""
    head = stream.read(2)
    if len(head) < 2:
        return None
    opcode, length = head[0] & 0x0F, head[1] & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", stream.read(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", stream.read(8))
    mask = stream.read(4) if head[1] & 0x80 else b"\0\0\0\0"
    data = stream.read(length)
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


class LinkedSlackApi(SlackApiStandIn):
    """The Slack stand-in, except that `apps.connections.open` hands out the local link's address."""

    def __init__(self, link_url: str, **kwargs: Any) -> None:
        self.link_url = link_url
        super().__init__(**kwargs)

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.link_url}


@pytest.fixture
def link() -> Iterator[LocalSocketModeLink]:
    served = LocalSocketModeLink()
    try:
        yield served
    finally:
        served.close()


@pytest.fixture
def linked_slack(link: LocalSocketModeLink) -> Iterator[LinkedSlackApi]:
    stand_in = LinkedSlackApi(link.url, channels=(CHANNEL,), usergroups={PLATFORM_GROUP: PLATFORM_MEMBERS})
    with stand_in:
        yield stand_in


@pytest.fixture
def socket_process(
    tmp_path: Path, linked_slack: LinkedSlackApi, link: LocalSocketModeLink, moto_endpoint: str
) -> Iterator[subprocess.Popen]:
    """`bakery socket` in its own process, connected to the local link."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BAKERY_"))}
    env.update(
        SLACK_BOT_TOKEN=linked_slack.token,
        SLACK_APP_TOKEN=linked_slack.app_token,
        SLACK_API_URL=linked_slack.base_url,
        BAKERY_WORKDIR=str(tmp_path / "work"),
    )
    log_path = tmp_path / "socket.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(BAKERY), "socket", "--config", str(write_config(tmp_path))],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        if not link.connected.wait(timeout=15):
            raise AssertionError(f"bakery socket never connected (exit {proc.poll()}):\n{log_path.read_text()}")
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_bakery_socket_answers_bake_help_on_the_websocket(socket_process, link, linked_slack):
    envelope_id = str(uuid.uuid4())
    link.send(
        {
            "envelope_id": envelope_id,
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": slash_form("U0CAROL", "help"),
        }
    )
    answer = link.reply(envelope_id)["payload"]
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith(commands.USAGE)
    assert linked_slack.messages() == []  # private: nothing posted to the channel


def test_bakery_socket_stops_cleanly_on_sigterm(socket_process):
    socket_process.send_signal(signal.SIGTERM)
    assert socket_process.wait(timeout=5) == 0
