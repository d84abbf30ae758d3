"""The one error handler: what a person is told when a service refuses or fails, and what is logged."""

from __future__ import annotations

import logging

import pytest

from bot.domain.errors import BadRequest, NotAllowed, NotFound, PipelineError
from bot.domain.replies import Failed, Refused
from bot.slack.replies import reply_text
from handlers.errors import handled


def raising(exc: Exception):
    def call() -> str:
        raise exc

    return call


@pytest.mark.parametrize("exc", [BadRequest("No such image."), NotAllowed("Not you."), NotFound("No such bake.")])
def test_a_refusal_is_told_with_its_reason_and_logged_at_info_without_a_traceback(exc, caplog):
    caplog.set_level(logging.INFO, logger="handlers.errors")
    reply = handled(raising(exc), event="click", user="U0ALICE")
    assert reply == Refused(exc) and reply_text(reply) == f":no_entry_sign: {exc}"
    [record] = caplog.records
    assert record.levelno == logging.INFO and record.exc_info is None
    assert record.getMessage() == f"click.refused user=U0ALICE reason={exc}"


def test_a_failure_is_told_as_not_working_and_logged_with_its_traceback(caplog):
    exc = PipelineError("CodePipeline is down")
    reply = handled(raising(exc), event="command", user="U0ALICE")
    assert reply == Failed(exc) and reply_text(reply) == ":warning: That did not work: CodePipeline is down"
    [record] = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert record.getMessage() == "command.failed user=U0ALICE"


def test_an_answer_passes_through_untouched(caplog):
    assert handled(lambda: "done", event="click") == "done"
    assert not caplog.records


def test_a_bug_is_not_mistaken_for_a_refusal():
    with pytest.raises(KeyError):
        handled(raising(KeyError("x")), event="click")
