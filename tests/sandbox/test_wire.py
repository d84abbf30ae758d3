"""The wire plumbing the AWS stand-ins share: JSON target calls refused or failed as AWS would; Query forms, XML."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.sandbox.aws.fake_codecommit import FakeCodeCommit
from bot.sandbox.aws.fake_codepipeline import FakeCodePipeline
from bot.sandbox.aws.fake_sqs import FakeSqs
from bot.sandbox.aws.wire import JsonTargetHandler, query_params, to_xml
from bot.sandbox.local_server import LocalServer

# Each JSON stand-in, the target of a call it serves, and how it spells a malformed request.
JSON_FAKES: dict[str, tuple[Callable[[Path], LocalServer], str, str]] = {
    "codepipeline": (lambda _: FakeCodePipeline(), "CodePipeline_20150709.ListPipelineExecutions", "Serialization"),
    "codecommit": (lambda tmp: FakeCodeCommit(tmp / "cc"), "CodeCommit_20150413.GetRepository", "Serialization"),
    "sqs": (lambda _: FakeSqs(), "AmazonSQS.ListQueues", "InvalidParameterValue"),
}


@pytest.fixture(params=sorted(JSON_FAKES))
def json_fake(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[LocalServer, str, str]]:
    make, target, malformed = JSON_FAKES[request.param]
    with make(tmp_path) as server:
        yield server, target, malformed


def post(server: LocalServer, target: str, body: bytes, path: str = "/") -> tuple[int, dict, dict]:
    request = urllib.request.Request(  # noqa: S310 - a loopback http:// URL
        f"{server.endpoint}{path}", data=body, method="POST", headers={"X-Amz-Target": target}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback fake
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_a_call_to_a_path_other_than_the_root_is_refused_as_an_unknown_operation(json_fake):
    server, target, _ = json_fake

    status, _, body = post(server, target, b"{}", path="/elsewhere")

    assert status == 400
    assert body["__type"].rpartition("#")[2] in ("UnknownOperationException", "UnsupportedOperation")


def test_a_body_that_is_not_a_json_object_is_refused_with_the_services_own_code(json_fake):
    server, target, malformed = json_fake

    answers = [post(server, target, body) for body in (b"name=base", b"[1, 2]")]

    assert [(status, body["__type"].rpartition("#")[2].removesuffix("Exception")) for status, _, body in answers] == [
        (400, malformed),
        (400, malformed),
    ]


def test_an_operation_that_crashes_is_answered_500_and_logged_with_its_traceback(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    def crash(self: FakeSqs, operation: str, params: dict) -> dict:
        raise RuntimeError("the queue store is broken")

    monkeypatch.setattr(FakeSqs, "call", crash)
    with FakeSqs() as server, caplog.at_level(logging.ERROR):
        status, headers, body = post(server, "AmazonSQS.ListQueues", b"{}")

    assert (status, body["__type"]) == (500, "com.amazonaws.sqs#InternalError")
    assert "the queue store is broken" in body["message"]
    assert "x-amzn-query-error" not in {name.lower() for name in headers}  # it is not the caller's fault
    [record] = [r for r in caplog.records if r.getMessage() == "fake_sqs.internal_error"]
    assert record.exc_info is not None


def test_query_members_become_lists_in_member_order_inside_nested_values():
    form = {
        "AutoScalingGroupName": "web",
        "Preferences.CheckpointPercentages.member.10": "100",
        "Preferences.CheckpointPercentages.member.2": "50",
        "Preferences.CheckpointPercentages.member.1": "20",
        "Preferences.AutoRollback": "true",
    }

    assert query_params(form) == {
        "AutoScalingGroupName": "web",
        "Preferences": {"CheckpointPercentages": ["20", "50", "100"], "AutoRollback": "true"},
    }


def test_query_xml_leaves_out_absent_members_and_escapes_text():
    xml = to_xml({"Status": "Failed", "StatusReason": "a < b & c", "EndTime": None, "Done": True, "Ids": ["x"]})

    assert xml == (
        "<Status>Failed</Status><StatusReason>a &lt; b &amp; c</StatusReason><Done>true</Done>"
        "<Ids><member>x</member></Ids>"
    )



def test_a_caller_that_hangs_up_before_its_answer_is_not_logged_as_a_crash(json_fake, monkeypatch, caplog):
    # A long poll whose client stopped meanwhile: writing the answer finds the socket closed.
    server, target, _ = json_fake

    def hung_up(self, status, doc, headers=None):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(JsonTargetHandler, "_send", hung_up)
    with caplog.at_level(logging.DEBUG), pytest.raises((urllib.error.URLError, ConnectionError)):
        post(server, target, b"{}")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
