"""What `bakery` writes to the terminal: one line per problem, and, in the sandbox, one line per event."""

from __future__ import annotations

import io
import logging
import socket

from bot.logs import EVENTS, configure
from tests.test_cli import bakery, error_lines, slack_env, write_serve_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_with_an_unreachable_slack_says_so_in_one_line_without_the_retries(tmp_path, slack_api):
    config = write_serve_config(tmp_path)
    nowhere = f"http://127.0.0.1:{_free_port()}/api/"  # nothing listens there
    env = slack_env(slack_api, tmp_path, SLACK_API_URL=nowhere)
    result = bakery("serve", "--config", str(config), "--port", "0", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == error_lines(result.stderr), result.stderr  # nothing but the error
    (line,) = error_lines(result.stderr)
    assert line.startswith(f"error: SLACK_API_URL: cannot reach Slack at {nowhere}")


def test_serve_logs_no_bolt_warning_about_token_and_client(tmp_path, slack_api):
    """SLACK_BOT_TOKEN is set, as always: Bolt would warn it ignores it beside the bot's own client."""
    config = write_serve_config(tmp_path)
    env = slack_env(slack_api, tmp_path, SLACK_BOT_TOKEN="xoxb-revoked")
    result = bakery("serve", "--config", str(config), "--port", "0", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "will be unused" not in result.stderr
    assert result.stderr.splitlines() == ["error: SLACK_BOT_TOKEN: Slack refused it (invalid_auth)"]


def _emit_a_bake() -> None:
    """The lines one bake logs, as the bot and the sandbox log them (names and shapes of their calls)."""
    logging.getLogger("bot.bakes.service").info("bake.opened request_id=%s image=%s user=%s", "b-1", "base", "U0C")
    logging.getLogger("bot.publishing.publisher").info("publish.posted kind=bake key=%s ts=%s", "b-1", "1.2")
    following = logging.getLogger("bot.bakes.following")
    for stage in ("Source", "Validate", "Bake", "Test", "Approve", "Publish"):
        for state in ("STARTED", "SUCCEEDED"):
            following.info("event.applied request_id=b-1 stage=%s state=%s", stage, state)
    logging.getLogger("bot.approvals.service").info("approval.opened request_id=%s key=%s", "b-1", "ap-1")
    logging.getLogger("bot.approvals.submit").info("approval.decided request_id=%s outcome=%s", "b-1", "approved")
    logging.getLogger("bot.sandbox.pipeline.runner").info("sandbox.execution_ended execution_id=%s", "e-1")
    logging.getLogger("bot.publishing.publisher").warning("publish.message_gone key=%s", "b-1")


def test_the_sandbox_terminal_shows_one_terse_line_per_event_and_every_warning():
    out = io.StringIO()
    try:
        configure(None, quiet_default=True, stream=out)
        _emit_a_bake()
    finally:
        configure("WARNING", quiet_default=False, stream=io.StringIO())
    lines = out.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == [
        "bake.opened",
        "approval.opened",
        "approval.decided",
        "sandbox.execution_ended",
        "WARNING",
    ], lines
    assert lines[0].endswith("bake.opened request_id=b-1 image=base user=U0C")  # time, then the event
    assert "bot.publishing.publisher publish.message_gone" in lines[-1]
    assert {"bake.opened", "approval.decided", "rollout.ended"} <= EVENTS


def test_a_log_level_given_restores_every_line():
    out = io.StringIO()
    try:
        configure("INFO", quiet_default=True, stream=out)
        _emit_a_bake()
    finally:
        configure("WARNING", quiet_default=False, stream=io.StringIO())
    lines = out.getvalue().splitlines()
    assert len(lines) == 18, lines
    assert " INFO bot.bakes.following event.applied " in lines[2]
