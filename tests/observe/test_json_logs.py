"""`--log-format json`: one JSON object per line with the event, its fields and the ids bound where it was logged."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest

from bot.cli import _parser
from bot.logs import configure
from bot.observe.context import bound, current
from bot.runtime.foreground import Foreground
from bot.runtime.workers import BakeWorkers
from handlers.errors import handled
from tests.fixtures.bakery import REQUESTER
from tests.test_bake_loop import request_id_of


@pytest.fixture
def json_lines():
    """The root logger in the JSON format, at INFO, into a buffer; the lines it wrote, parsed."""
    out = io.StringIO()
    configure("INFO", quiet_default=False, stream=out, log_format="json")
    try:
        yield lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    finally:
        configure("WARNING", quiet_default=False, stream=io.StringIO())


def test_a_line_is_its_event_fields_level_logger_time_and_bound_ids(json_lines):
    log = logging.getLogger("bot.bakes.service")
    with bound(request_id="b-1a2b3c", train_id=None):
        log.info("bake.opened request_id=%s image=%s attempts=%d waited=%.1fs", "b-1a2b3c", "base", 2, 0.25)
    log.warning("publish.failed key=%r", "b-9")
    opened, failed = json_lines()
    assert opened["event"] == "bake.opened" and opened["level"] == "info" and opened["logger"] == "bot.bakes.service"
    assert (opened["image"], opened["attempts"], opened["waited"]) == ("base", 2, "0.2s")
    assert opened["request_id"] == "b-1a2b3c" and "train_id" not in opened  # None is not bound
    assert opened["timestamp"].endswith("Z")
    assert failed == {**failed, "event": "publish.failed", "key": "'b-9'", "level": "warning"}
    assert "request_id" not in failed  # the block's ids ended with it


def test_a_traceback_is_one_string_field(json_lines):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("bot.runtime.workers").exception("worker.job_failed")
    (line,) = json_lines()
    assert line["event"] == "worker.job_failed" and line["level"] == "error"
    assert line["exception"].startswith("Traceback") and "RuntimeError: boom" in line["exception"]


def test_a_helper_logging_for_its_caller_gives_the_callers_event_and_fields(json_lines):
    from bot.domain.errors import NotAllowed

    def refuse() -> None:
        raise NotAllowed("Not you.")

    handled(refuse, event="click", user="U0ALICE", action="approve")
    (line,) = json_lines()
    fields = (line["event"], line["user"], line["action"], line["reason"])
    assert fields == ("click.refused", "U0ALICE", "approve", "Not you.")


def test_a_bake_workers_job_keeps_the_ids_of_whoever_submitted_it(json_lines):
    workers = BakeWorkers(workers=1, foreground=Foreground())
    done = threading.Event()

    def job() -> None:
        logging.getLogger("bot.bakes.service").info("bake.committed request_id=%s", "b-7")
        done.set()

    with bound(request_id="b-7", execution_id="e-1"):
        workers.submit(job)
    workers.shutdown()
    assert done.is_set()
    (line,) = json_lines()
    assert (line["request_id"], line["execution_id"]) == ("b-7", "e-1")


def test_every_subcommand_takes_the_log_format():
    for command in ("serve", "socket", "sandbox", "check", "gc"):
        assert _parser().parse_args([command, "--log-format", "json"]).log_format == "json"
        assert _parser().parse_args([command]).log_format == "text"


class BoundAtEmit(logging.Handler):
    """The ids bound (not the call's own fields) when each record of a logger was emitted."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, dict[str, str]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((str(record.msg).split(" ", 1)[0], dict(current())))


def test_a_bake_logs_json_with_its_ids_and_never_a_secret(bakery, json_lines):
    bound_at = {name: BoundAtEmit() for name in ("bot.bakes.following", "bot.adapters.git.repo")}
    for name, handler in bound_at.items():
        logging.getLogger(name).addHandler(handler)
    try:
        rid = request_id_of(bakery.command(REQUESTER, "base json logs"))
        commit = bakery.commit_of(rid)
        bakery.run_pipeline("base", commit, fail_stage="Bake")
        bakery.wait(lambda: (b := bakery.services.bakes.get(rid)) and b.status == "failed", what="the bake failed")
        bakery.wait_idle()
    finally:
        for name, handler in bound_at.items():
            logging.getLogger(name).removeHandler(handler)
    pushed = [ids for event, ids in bound_at["bot.adapters.git.repo"].seen if event == "repo.commit_pushed"]
    assert pushed == [{"request_id": rid}]  # bound where the bake was recorded, kept by the worker's job
    applied = [ids for event, ids in bound_at["bot.bakes.following"].seen if event == "event.applied"]
    assert len(applied) >= 8 and all(ids["request_id"] == rid and ids["execution_id"] for ids in applied)
    lines = json_lines()
    assert {x["event"] for x in lines} >= {"bake.opened", "repo.commit_pushed", "event.applied", "publish.posted"}
    text = json.dumps(lines)
    for secret in (bakery.bot.env.slack_bot_token, bakery.bot.env.slack_signing_secret, bakery.slack.token):
        assert secret and secret not in text


def test_the_text_format_is_the_line_as_logged_without_bound_ids():
    out = io.StringIO()
    configure("INFO", quiet_default=False, stream=out)  # --log-format text, the default
    try:
        with bound(request_id="b-1", execution_id="e-1"):
            logging.getLogger("bot.bakes.service").info("bake.opened request_id=%s image=%s", "b-1", "base")
    finally:
        configure("WARNING", quiet_default=False, stream=io.StringIO())
    (line,) = out.getvalue().splitlines()
    assert line.split(" ", 2)[2] == "INFO bot.bakes.service bake.opened request_id=b-1 image=base"
    assert "e-1" not in line
