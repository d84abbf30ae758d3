"""Slack hears back within a second even when the calls behind an answer are slow (issue 9, defect 2).

The Slack stand-in holds users.info and usergroups.users.list back, and a proxy in front of moto holds EC2
DescribeImages back, each call well past the acknowledgement limit (and past Slack's 3 s trigger window where
a modal must open). Every acknowledgement (the HTTP answer to the signed Slack request) must still
come in under a second, the real answer must follow privately and be right, and an approval must still be
decided exactly once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from bot.slack.text import STILL_CHECKING
from tests.fixtures.bakery import APPROVER, OUTSIDER, REQUESTER, SECOND_APPROVER, Bakery, slash_form
from tests.fixtures.slow_aws import SlowAwsProxy, slow_endpoint
from tests.test_rollouts import REGION, make_ami, make_fleet

ACK_LIMIT = 2.0  # seconds: a third of Slack's 3 s; the slow calls take longer, so waiting on one fails at once
# How long each slow call takes: half again the acknowledgement limit, so an acknowledgement that waited on one
# misses the limit by a second. Each test waits out its chain of slow calls, so no longer than that.
SLOW = 3.0
# Where a modal must open within Slack's 3 s trigger window, the calls are slow a second past the window.
SLOWER_THAN_TRIGGER = 4.0
LATE = 30.0  # how long a late answer may take: the slow calls in a row, on a busy machine
PIPELINE = "ami-bakery-base"


@pytest.fixture
def slow_ec2(moto: str, monkeypatch: pytest.MonkeyPatch):
    """The bot's (and this test's) EC2 endpoint, through a proxy that can hold DescribeImages back."""
    with slow_endpoint("EC2", moto, monkeypatch.setenv) as proxy:
        yield proxy


@pytest.fixture
def bakery(slow_ec2: SlowAwsProxy, bakery_factory: Any) -> Bakery:
    # After slow_ec2: the bot's EC2 client must be made with the proxy as its endpoint.
    return bakery_factory()


def timed(request: Callable[[], tuple[int, str]]) -> tuple[int, str, float]:
    started = time.monotonic()
    status, body = request()
    return status, body, time.monotonic() - started


def puts(bakery: Bakery) -> int:
    return bakery.codepipeline.operations.count("PutApprovalResult")


def hand_pushed_bake_waiting_for_approval(bakery: Bakery, tmp_path: Any) -> tuple[str, dict[str, Any]]:
    """A commit Dave pushed by hand, at its Approve stage: approving it makes the bot read the clicker's
    e-mail address (users.info) to keep Dave from approving his own commit. Returns the bake's id and message."""
    return bakery.hand_pushed_bake_at_approval(tmp_path / "hand", author="Dave", email="dave@example.com")


def test_a_rollout_command_is_acknowledged_at_once_while_ec2_is_slow_and_its_answer_follows(bakery, slow_ec2):
    ec2, autoscaling = make_fleet()
    ami = make_ami(ec2, "base")
    slow_ec2.delay("DescribeImages", SLOW)
    url = bakery.slack.response_url("C0BAKERY", APPROVER)
    form = slash_form(APPROVER, f"rollout base-canary {ami}", response_url=url)

    status, body, took = timed(lambda: bakery.post_slack(form))

    assert status == 200 and took < ACK_LIMIT, took
    assert json.loads(body)["text"] == STILL_CHECKING
    answer = bakery.wait(lambda: bakery.response_to(url), timeout=LATE, what="the answer through response_url")
    assert f"of `base-canary` onto `{ami}` is starting" in answer["text"]
    assert "DescribeImages" in slow_ec2.held
    rid = answer["text"].split("`")[1]
    bakery.wait(lambda: (r := bakery.services.rollouts.get(rid)) and r.refresh_id, what="the refresh")
    assert len(autoscaling.describe_instance_refreshes(AutoScalingGroupName="base-canary")["InstanceRefreshes"]) == 1


def test_a_roll_out_click_is_acknowledged_at_once_while_ec2_is_slow_and_the_clicker_is_told(bakery, slow_ec2):
    ec2, _ = make_fleet()
    request_id = bakery.command(REQUESTER, "base")["text"].split("`")[1]
    commit = bakery.commit_of(request_id)
    ami = make_ami(ec2, "base", request_id)
    bakery.run_pipeline("base", commit, request_id=request_id, amis=[(REGION, ami)])
    message = bakery.wait(
        lambda: (m := bakery.bake_message(request_id)) and "rollout_start" in json.dumps(m["blocks"]) and m,
        what="the Roll out button",
    )
    slow_ec2.delay("DescribeImages", SLOW)

    status, _, took = timed(lambda: bakery.click(APPROVER, message, "rollout_start"))

    assert status == 200 and took < ACK_LIMIT, took
    told = bakery.wait(
        lambda: next((t for t in bakery.ephemerals(APPROVER) if "is starting" in t), None), timeout=LATE, what="told"
    )
    assert f"onto `{ami}`" in told and "DescribeImages" in slow_ec2.held
    [rollout] = bakery.services.rollouts.active()
    assert rollout.ami_id == ami and rollout.request_id == request_id


def test_two_approvers_clicking_while_slack_is_slow_are_acknowledged_at_once_and_decide_once(bakery, tmp_path):
    rid, message = hand_pushed_bake_waiting_for_approval(bakery, tmp_path)
    # Cold group cache: each click's check asks Slack for the approvers group and for the clicker's e-mail.
    bakery.slack.delay("usergroups.users.list", SLOW)
    bakery.slack.delay("users.info", SLOW, times=2)
    acks: list[tuple[int, float]] = []

    def click(user: str) -> None:
        status, _, took = timed(lambda: bakery.click(user, message, "bake_approve"))
        acks.append((status, took))

    threads = [threading.Thread(target=click, args=(u,)) for u in (APPROVER, SECOND_APPROVER)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert [status for status, _ in acks] == [200, 200] and max(took for _, took in acks) < ACK_LIMIT, acks
    bakery.wait(lambda: bakery.codepipeline.decisions(), timeout=LATE, what="the decision")
    winner = bakery.services.bakes.get(rid).approvals[0].decided_by
    loser = SECOND_APPROVER if winner == APPROVER else APPROVER
    bakery.wait_ephemeral(winner, "You approved")
    assert f"by <@{winner}>" in bakery.wait_ephemeral(loser, "already")
    bakery.wait_idle()
    assert puts(bakery) == 1
    assert len(bakery.slack.calls("users.info")) >= 2  # the e-mail checks really went to the slow Slack


def test_reject_opens_its_modal_within_the_trigger_window_while_slack_is_slow_and_rejects_once(bakery, tmp_path):
    rid, message = hand_pushed_bake_waiting_for_approval(bakery, tmp_path)
    bakery.slack.delay("usergroups.users.list", SLOWER_THAN_TRIGGER)
    bakery.slack.delay("users.info", SLOWER_THAN_TRIGGER, times=2)
    clicked = time.time()

    status, _, took = timed(lambda: bakery.click(APPROVER, message, "bake_reject"))

    assert status == 200 and took < ACK_LIMIT, took
    view = bakery.wait(lambda: bakery.slack.views(), what="the reject modal")[-1]
    [opened] = bakery.slack.calls("views.open")
    assert opened.at - clicked < 3.0 and opened.error is None  # Slack's trigger ids last 3 s
    status, body, took = timed(
        lambda: bakery.submit_view(APPROVER, view["id"], {"reason": {"reason_input": "CIS score dropped"}})
    )
    assert status == 200 and took < ACK_LIMIT, took
    assert "errors" not in body  # the modal closes; the outcome follows privately
    [decision] = bakery.wait(lambda: bakery.codepipeline.decisions(), timeout=LATE, what="the rejection")
    assert decision.status == "Rejected" and "CIS score dropped" in decision.summary
    bakery.wait_ephemeral(APPROVER, "You rejected")
    bakery.wait_idle()
    assert puts(bakery) == 1


def test_reject_by_someone_who_may_not_approve_turns_the_modal_into_the_reason(bakery, tmp_path):
    rid, message = hand_pushed_bake_waiting_for_approval(bakery, tmp_path)
    bakery.click(OUTSIDER, message, "bake_reject")
    refused = bakery.wait(
        lambda: next((v for v in bakery.slack.views() if "access.approvers" in json.dumps(v["view"])), None),
        what="the modal saying why",
    )
    assert "submit" not in refused["view"] and "not allowed to approve" in json.dumps(refused["view"]["blocks"])
    assert puts(bakery) == 0
