"""Faults from AWS (the proxy in front of moto and the stand-ins) and from Slack (the stand-in's switches) during
a bake served by two replicas: retried away without doubling anything, or, when they outlast the retries, told."""

from __future__ import annotations

import json
import time

import pytest

from bot.wiring.adapters import TOTAL_MAX_ATTEMPTS
from tests.replicas.harness import APPROVER, REQUESTER, Replicas
from tests.replicas.test_two_replicas import approval_card, request_id_of, text_of

pytestmark = pytest.mark.xdist_group("replicas")


def released(replicas: Replicas, rid: str) -> list[dict]:
    return replicas.wait(
        lambda: (m := replicas.bake_messages(rid)) and "*Publish* succeeded" in text_of(m[0]) and m,
        what=f"bake {rid} released",
    )


def thread_of(replicas: Replicas, message: dict) -> list[dict]:
    return [m for m in replicas.messages() if m.get("thread_ts") == message["ts"]]


def bake_through(replicas: Replicas, rid: str, *, approve_on: int = 1) -> dict:
    card = replicas.wait(lambda: approval_card(replicas, rid), what=f"bake {rid}'s approval card")
    assert replicas.click(approve_on, APPROVER, card, "bake_approve") == 200
    done = released(replicas, rid)
    assert len(done) == 1, done
    return done[0]


def test_throttles_and_5xx_on_every_service_during_a_bake_duplicate_nothing(replicas: Replicas) -> None:
    replicas.start(2)
    faults = replicas.world.faults
    rules = [
        faults.add("dynamodb", None, "latency", times=5, seconds=0.2),
        faults.add("dynamodb", None, "throttle", times=1),
        faults.add("dynamodb", None, "500", times=2),
        faults.add("sqs", "ReceiveMessage", "503", times=2),
        faults.add("sqs", "DeleteMessageBatch", "throttle", times=1),
        faults.add("codecommit", "CreateCommit", "throttle", times=1),
        faults.add("codecommit", None, "500", times=2),
        faults.add("codepipeline", "PutApprovalResult", "503", times=2),
        faults.add("codepipeline", None, "throttle", times=1),
    ]
    rid = request_id_of(replicas.post_command(0, REQUESTER, "base --force under faults"))
    done = bake_through(replicas, rid)

    assert [r.times for r in rules] == [0] * len(rules), "every fault was met"
    assert len(replicas.bake_commits("base", rid)) == 1
    assert replicas.approval_results() == 1
    notices = [m["text"] for m in thread_of(replicas, done)]
    assert len(notices) == len(set(notices)), notices  # each thread notice posted once

    # And a rollout of it through Auto Scaling's throttles and 5xx: one instance refresh.
    starts = [faults.add("autoscaling", "StartInstanceRefresh", "throttle"), faults.add("autoscaling", None, "500")]
    button = replicas.wait(
        lambda: (m := replicas.bake_messages(rid)) and "rollout_start" in text_of(m[0]) and m[0], what="Roll out"
    )
    assert replicas.click(0, APPROVER, button, "rollout_start") == 200
    replicas.wait(lambda: replicas.refreshes_started() == 1, what="the instance refresh started")
    replicas.wait(lambda: [r.times for r in starts] == [0, 0], what="Auto Scaling's faults met")
    for i in (0, 1):
        replicas.wait_idle(i)
    assert replicas.refreshes_started() == 1


def test_a_commit_refused_past_the_retries_is_told_to_the_requester_naming_the_error(replicas: Replicas) -> None:
    replicas.start(2)
    replicas.world.faults.add("codecommit", "CreateCommit", "503", times=None)
    rid = request_id_of(replicas.post_command(1, REQUESTER, "base --force commit refused"))

    def told() -> str | None:
        shown = [text_of(m) for m in replicas.bake_messages(rid)]
        shown += [c.args.get("text", "") for c in replicas.world.slack.calls("chat.postEphemeral")]
        shown += [json.dumps(c.args) for c in replicas.world.slack.calls("response_url")]
        return next((s for s in shown if "ServiceUnavailable" in s), None)

    said = replicas.wait(told, what="the requester told the commit failed")
    assert "could not start" in said and "CodeCommit create_commit on repository ami-bakery-base failed" in said
    assert replicas.bake_commits("base", rid) == []
    # The SDK's bounded attempts, then the bake gave up: no retry storm behind the user's back.
    assert len(replicas.world.faults.calls("codecommit", "CreateCommit")) == TOTAL_MAX_ATTEMPTS


def slack_storm(replicas: Replicas) -> None:
    slack = replicas.world.slack
    slack.rate_limit("chat.update", times=4, retry_after=1)  # one edit's every attempt: it fails, and is redone
    slack.server_error("chat.update", times=2, status=503)
    slack.server_error("chat.postMessage", times=2, status=500)


def test_a_slack_429_storm_and_5xx_keep_edits_coalesced_and_lose_none(replicas: Replicas) -> None:
    """One publisher through Slack's 429s and 5xx: its edits stay about one a second, and the last state shows.

    One replica: with two, both publishers post a bake that has no message yet, and while one waits out the
    5xx (about 1.5 s of retries) the other can post a second top-level message; cross-replica publishing
    (issue 14, another change) is what makes that once.
    """
    replicas.start(1)
    slack_storm(replicas)
    started = time.monotonic()
    rid = request_id_of(replicas.post_command(0, REQUESTER, "base --force through a slack storm"))
    done = bake_through(replicas, rid, approve_on=0)
    took = time.monotonic() - started

    statuses = [c.status for c in replicas.world.slack.calls("chat.update")]
    assert statuses.count(429) == 4 and statuses.count(503) == 2, statuses  # the storm was met
    edits = [c for c in replicas.world.slack.calls("chat.update") if c.args.get("ts") == done["ts"] and c.status == 200]
    # Coalesced: about one edit a second at most, however many pipeline events arrived meanwhile.
    assert len(edits) <= took + 2, (len(edits), took)
    notices = [m["text"] for m in thread_of(replicas, done)]
    assert len(notices) == len(set(notices)), notices
