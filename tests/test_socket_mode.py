"""Socket Mode: slash commands arrive unsigned over the app's websocket, and the answer goes back on it.

Slack's websocket end is played by `LocalSocketModeLink` (tests/fixtures/socket_mode.py), and the Slack
stand-in hands out its address from `apps.connections.open`.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_bolt.request import BoltRequest

from bot.app import build_app
from bot.commands import parser as commands
from bot.config import Environment, parse_config
from bot.sandbox.slack.api import SlackApiStandIn
from bot.wiring import Bot, build_bot
from tests.fixtures.aws import new_session
from tests.fixtures.bakery import REGION, SIGNING_SECRET, make_bare_repo, slash_form
from tests.fixtures.socket_mode import LinkedSlackApi, LocalSocketModeLink

BAKERY = Path(sys.executable).with_name("bakery")
CONFIG = """
slack: {{channel: C0BAKERY}}
access: {{bakers: ["*"]}}
state: {{path: {state}}}
images:
  base: {{repository: {repo}, pipeline: ami-bakery-base}}
"""


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
        parse_config(write_config(tmp_path).read_text()), env, session=new_session(REGION)
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


@pytest.fixture
def socket_process(
    tmp_path: Path, linked_slack: LinkedSlackApi, socket_link: LocalSocketModeLink, moto_endpoint: str
) -> Iterator[subprocess.Popen]:
    """`bakery socket` in its own process, connected to the local link, serving /metrics on loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BAKERY_"))}
    env.update(
        SLACK_BOT_TOKEN=linked_slack.token,
        SLACK_APP_TOKEN=linked_slack.app_token,
        SLACK_API_URL=linked_slack.base_url,
        BAKERY_WORKDIR=str(tmp_path / "work"),
    )
    log_path = tmp_path / "socket.log"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        metrics_port = probe.getsockname()[1]
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(BAKERY), "socket", "--config", str(write_config(tmp_path)), "--metrics-port", str(metrics_port)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        if not socket_link.connected.wait(timeout=15):
            raise AssertionError(f"bakery socket never connected (exit {proc.poll()}):\n{log_path.read_text()}")
        proc.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"  # type: ignore[attr-defined]
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_bakery_socket_answers_bake_help_on_the_websocket(socket_process, socket_link, linked_slack):
    envelope_id = str(uuid.uuid4())
    socket_link.send(
        {
            "envelope_id": envelope_id,
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": slash_form("U0CAROL", "help"),
        }
    )
    answer = socket_link.reply(envelope_id)["payload"]
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith(commands.USAGE)
    assert linked_slack.messages() == []  # private: nothing posted to the channel
    with urllib.request.urlopen(socket_process.metrics_url, timeout=5) as reply:  # loopback only: no inbound port
        text = reply.read().decode()
    acks = {
        s.labels["kind"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "bakery_ack_seconds_count"
    }
    assert acks == {"command": 1, "action": 0, "view": 0, "event": 0}  # timed in the Socket Mode handler


def test_bakery_socket_stops_cleanly_on_sigterm(socket_process):
    socket_process.send_signal(signal.SIGTERM)
    assert socket_process.wait(timeout=5) == 0
