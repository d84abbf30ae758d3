"""`bakery` as an operator runs it: help, `check`, refusing to start without its settings, and `serve` for real."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import cli
from bot.commands import parser as commands
from bot.sandbox.slack.api import SlackApiStandIn
from bot.sandbox.slack.requests import send_signed
from tests.fixtures.bakery import SIGNING_SECRET, make_bare_repo, slash_form

# The console script installed next to the interpreter running the tests: what `make run` puts on PATH.
BAKERY = Path(sys.executable).with_name("bakery")
EXAMPLE = Path(__file__).resolve().parents[1] / "bakery.example.yaml"

BROKEN_CONFIG = """
slack: {channel: general}
images:
  web: {repository: /srv/web.git, pipeline: ami-bakery-web, parent: base, colour: blue}
targets:
  web-prod: {image: webb, auto_scaling_group: web-prod, launch_template: web-prod}
"""
BROKEN_KEY_PATHS = ["slack.channel", "images.web.colour", "images.web.parent", "targets.web-prod.image"]

SERVE_CONFIG = """
slack: {{channel: C0BAKERY}}
access: {{bakers: ["*"]}}
state: {{path: {state}}}
images:
  base: {{repository: {repo}, pipeline: ami-bakery-base}}
"""


def user_env(**settings: str) -> dict[str, str]:
    """This process's environment minus every Slack and bakery setting, so only what a test sets counts.

    The AWS variables stay: the session fixture points them (AWS_ENDPOINT_URL) at moto, never at AWS.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BAKERY_"))}
    env.update(settings)
    return env


def bakery(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BAKERY), *args],
        cwd=cwd,
        env=user_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def write_serve_config(root: Path) -> Path:
    """A configuration `serve` can run on: one image in a local bare repository, state under `root`."""
    path = root / "serve.yaml"
    path.write_text(SERVE_CONFIG.format(state=root / "state.db", repo=make_bare_repo(root / "remotes", "base")))
    return path


def slack_env(slack_api: SlackApiStandIn, root: Path, **settings: str) -> dict[str, str]:
    """Everything `serve` and `socket` need to run against the Slack stand-in; `settings` override."""
    defaults = {
        "SLACK_BOT_TOKEN": slack_api.token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api.base_url,
        "BAKERY_WORKDIR": str(root / "work"),
    }
    return user_env(**{**defaults, **settings})


# --- help -------------------------------------------------------------------------------------------


def test_help_lists_every_command(tmp_path):
    result = bakery("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: bakery")
    for command in ("serve", "socket", "sandbox", "check", "gc"):
        assert f"    {command} " in result.stdout


@pytest.mark.parametrize(
    "command, description, options",
    [
        ("serve", "HTTP mode", ["--host", "--port", "--config"]),
        ("socket", "Socket Mode", ["--config"]),
        ("sandbox", "offline", ["--port", "--config"]),
        ("check", "validate the configuration", ["--aws", "--config"]),
        ("gc", "AMI lifecycle sweep", ["--dry-run", "--config"]),
    ],
)
def test_each_command_describes_itself(tmp_path, command, description, options):
    result = bakery(command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: bakery {command}")
    assert description in result.stdout
    for option in options:
        assert option in result.stdout


# --- check ------------------------------------------------------------------------------------------


def test_check_accepts_the_example_configuration(tmp_path):
    result = bakery("check", "--config", str(EXAMPLE), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{EXAMPLE}: ok (2 images, 1 target)"
    assert result.stderr == ""


def test_check_reports_every_problem_on_its_own_line_with_its_key_path(tmp_path):
    config = tmp_path / "broken.yaml"
    config.write_text(BROKEN_CONFIG)
    result = bakery("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = error_lines(result.stderr)
    assert lines == result.stderr.splitlines()
    assert sorted(line.split(": ")[1] for line in lines) == sorted(BROKEN_KEY_PATHS)


def test_check_of_a_missing_file_says_so_and_how_to_name_another(tmp_path):
    result = bakery("check", "--config", "nowhere.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert error_lines(result.stderr) == ["error: nowhere.yaml: no such file (pass --config or set BAKERY_CONFIG)"]


def test_check_without_a_file_says_how_to_start_from_the_example(tmp_path):
    result = bakery("check", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: bakery.yaml: no such file; start from the example: "
        "cp bakery.example.yaml bakery.yaml (or pass --config F)"
    ]


@pytest.mark.parametrize(
    "images, targets, summary",
    [
        ("  base: {repository: /srv/base.git, pipeline: ami-bakery-base}\n", "", "1 image, 0 targets"),
        (
            "  base: {repository: /srv/base.git, pipeline: ami-bakery-base}\n",
            "targets:\n  base-prod: {image: base, auto_scaling_group: base-prod, launch_template: base-prod}\n",
            "1 image, 1 target",
        ),
    ],
)
def test_checks_summary_counts_in_good_english(tmp_path, images, targets, summary):
    config = tmp_path / "bakery.yaml"
    config.write_text("slack: {channel: C0BAKERY}\nimages:\n" + images + targets)
    result = bakery("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"bakery.yaml: ok ({summary})\n"


def test_check_names_the_nearest_key_and_the_known_images_each_problem_once(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text(
        EXAMPLE.read_text().replace("  approvers:", "  aprovers:").replace("parent: base", "parent: bse")
    )
    result = bakery("check", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: access.aprovers: unknown key 'aprovers' — did you mean 'approvers'?",
        "error: images.web.parent: names no image ('bse') — did you mean 'base'? The images are base, web",
    ]


def test_check_reads_the_file_bakery_config_names(tmp_path):
    # A broken ./bakery.yaml proves the variable, not the default, was read.
    (tmp_path / "bakery.yaml").write_text(BROKEN_CONFIG)
    result = bakery("check", cwd=tmp_path, env=user_env(BAKERY_CONFIG=str(EXAMPLE)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{EXAMPLE}: ok")


def test_config_flag_wins_over_bakery_config(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN_CONFIG)
    result = bakery("check", "--config", str(EXAMPLE), cwd=tmp_path, env=user_env(BAKERY_CONFIG=str(broken)))
    assert result.returncode == 0, result.stderr


def test_check_defaults_to_bakery_yaml_in_the_working_directory(tmp_path):
    (tmp_path / "bakery.yaml").write_text(EXAMPLE.read_text())
    result = bakery("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("bakery.yaml: ok")


def test_running_the_module_keeps_its_output_when_piped(tmp_path):
    # Without PYTHONUNBUFFERED a pipe is block-buffered: an exit that skips flushing would print nothing.
    env = {k: v for k, v in user_env().items() if k != "PYTHONUNBUFFERED"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check", "--config", str(EXAMPLE)],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert f"{EXAMPLE}: ok" in result.stdout


# --- refusing to start ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings, missing",
    [
        ({}, ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]),
        ({"SLACK_SIGNING_SECRET": "s3cr3t"}, ["SLACK_BOT_TOKEN"]),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, ["SLACK_SIGNING_SECRET"]),
    ],
)
def test_serve_without_its_slack_secrets_names_each_and_starts_nothing(tmp_path, slack_api, settings, missing):
    config = write_serve_config(tmp_path)
    env = user_env(SLACK_API_URL=slack_api.base_url, BAKERY_WORKDIR=str(tmp_path / "work"), **settings)
    result = bakery("serve", "--config", str(config), "--port", "0", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert [line.split(":")[1].strip() for line in error_lines(result.stderr)] == missing
    # Nothing started: no listening line, no state store opened, Slack never called.
    assert "listening" not in result.stdout
    assert not (tmp_path / "state.db").exists()
    assert slack_api.calls() == []


@pytest.mark.parametrize(
    "app_token, problem",
    [
        (None, "error: SLACK_APP_TOKEN: not set (Socket Mode needs an xapp- token)"),
        ("xoxb-not-an-app-token", "error: SLACK_APP_TOKEN: must be an app-level token starting with xapp-"),
    ],
)
def test_socket_without_an_app_token_refuses_to_start(tmp_path, slack_api, app_token, problem):
    config = write_serve_config(tmp_path)
    env = slack_env(slack_api, tmp_path, **({"SLACK_APP_TOKEN": app_token} if app_token else {}))
    result = bakery("socket", "--config", str(config), cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert error_lines(result.stderr) == [problem]
    assert slack_api.calls() == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["serve", "--port", "abc"], "argument --port: 'abc' is not a port number"),
        (["serve", "--port", "70000"], "argument --port: 70000 is not between 0 and 65535"),
        (["serve", "--threads", "0"], "argument --threads: 0 is too few (at least 1)"),
        (["bake"], "argument COMMAND: invalid choice: 'bake'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_arguments_exit_2_with_usage(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: bakery")
    assert message in err


@pytest.mark.parametrize("command", ["serve", "socket", "check"])
def test_secrets_never_reach_the_output(tmp_path, command):
    config = tmp_path / "broken.yaml"
    config.write_text(BROKEN_CONFIG)
    env = user_env(
        SLACK_BOT_TOKEN="xoxb-SECRET-123", SLACK_SIGNING_SECRET="SECRET-456", SLACK_APP_TOKEN="xapp-SECRET-789"
    )
    result = bakery(command, "--config", str(config), "--log-level", "DEBUG", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert error_lines(result.stderr)  # it did fail on the configuration, and said so
    assert "SECRET" not in result.stdout + result.stderr


def test_a_bot_token_slack_refuses_is_one_line_naming_the_variable(tmp_path, slack_api):
    config = write_serve_config(tmp_path)
    env = slack_env(slack_api, tmp_path, SLACK_BOT_TOKEN="xoxb-SECRET-revoked")
    result = bakery("serve", "--config", str(config), "--port", "0", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert error_lines(result.stderr) == ["error: SLACK_BOT_TOKEN: Slack refused it (invalid_auth)"]
    assert "Traceback" not in result.stderr
    assert "SECRET" not in result.stdout + result.stderr


def test_an_app_token_slack_refuses_is_one_line_naming_the_variable(tmp_path, slack_api):
    config = write_serve_config(tmp_path)
    env = slack_env(slack_api, tmp_path, SLACK_APP_TOKEN="xapp-SECRET-revoked")
    result = bakery("socket", "--config", str(config), cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert error_lines(result.stderr) == ["error: SLACK_APP_TOKEN: Slack refused it (invalid_auth)"]
    assert "Traceback" not in result.stderr
    assert "SECRET" not in result.stdout + result.stderr


def test_serve_on_a_port_in_use_says_so_in_one_line(tmp_path, slack_api):
    config = write_serve_config(tmp_path)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = bakery(
            "serve", "--config", str(config), "--port", str(port), cwd=tmp_path, env=slack_env(slack_api, tmp_path)
        )
    assert result.returncode == 1
    assert error_lines(result.stderr) == [f"error: cannot listen on 127.0.0.1:{port}: Address already in use"]
    assert "Traceback" not in result.stderr


# --- serve, for real --------------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path, slack_api: SlackApiStandIn, moto_endpoint: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """`bakery serve` in its own process on a port the OS picks; yields the process and its URL."""
    config = write_serve_config(tmp_path)
    with (tmp_path / "serve.log").open("w") as log:
        proc = subprocess.Popen(
            [str(BAKERY), "serve", "--config", str(config), "--port", "0"],
            cwd=tmp_path,
            env=slack_env(slack_api, tmp_path),
            stdout=subprocess.PIPE,
            stderr=log,  # a file, not a pipe nobody drains
            text=True,
        )
    try:
        yield proc, listening_url(proc, tmp_path / "serve.log")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()


def listening_url(proc: subprocess.Popen, log: Path, timeout: float = 15.0) -> str:
    """The address from serve's 'listening on' line: the port it really bound, not one we hoped was free."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if "listening on " not in line:
        raise AssertionError(f"bakery serve did not come up (exit {proc.poll()}):\n{line}{log.read_text()}")
    return line.split("listening on ")[1].split()[0]


def post_signed(url: str, form: dict[str, str]) -> tuple[int, str]:
    """POST a slash command signed as Slack signs it (v0 HMAC-SHA256 over timestamp and body)."""
    reply = send_signed(url, urllib.parse.urlencode(form), secret=SIGNING_SECRET)
    return reply.status, reply.text


def test_serve_is_healthy_once_it_says_it_listens(served):
    _, url = served
    with urllib.request.urlopen(f"{url}/healthz", timeout=10) as resp:
        assert resp.status == 200
        assert json.load(resp)["status"] == "ok"


def test_serve_answers_a_signed_bake_help_privately(served, slack_api):
    _, url = served
    status, body = post_signed(url, slash_form("U0CAROL", "help"))
    assert status == 200, body
    answer = json.loads(body)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith(commands.USAGE)
    assert slack_api.messages() == []  # private: nothing posted to the channel


def test_serve_stops_cleanly_on_sigterm_and_frees_its_port(served):
    proc, url = served
    port = urllib.parse.urlsplit(url).port
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0  # 0, not -SIGTERM: the handler ran and the loops were stopped
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
