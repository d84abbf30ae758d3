"""Two `bakery serve` replicas on one DynamoDB table and one queue serve a bake end to end, Slack's requests going
to one and then the other: one commit, one top-level message, one approval result."""

from __future__ import annotations

import json
import re

import pytest

from tests.replicas.harness import APPROVER, REQUESTER, Replicas

pytestmark = pytest.mark.xdist_group("replicas")


def text_of(message: dict) -> str:
    return json.dumps(message.get("blocks")) + message.get("text", "")


def request_id_of(answer: dict) -> str:
    match = re.search(r"`(b-[0-9a-z-]+)`", json.dumps(answer))
    assert match, answer
    return match.group(1)


def approval_card(replicas: Replicas, rid: str) -> dict | None:
    top = replicas.bake_messages(rid)
    if not top:
        return None
    thread = [m for m in replicas.messages() if m.get("thread_ts") == top[0]["ts"]]
    return next((m for m in thread if "bake_approve" in text_of(m)), None)


def test_two_replicas_serve_one_bake_once(replicas: Replicas) -> None:
    replicas.start(2)
    rid = request_id_of(replicas.post_command(0, REQUESTER, "base two replicas"))
    card = replicas.wait(lambda: approval_card(replicas, rid), what=f"bake {rid}'s approval card")
    assert replicas.click(1, APPROVER, card, "bake_approve") == 200
    assert replicas.click(0, APPROVER, card, "bake_approve") == 200  # a second press, to the other replica
    done = replicas.wait(
        lambda: (m := replicas.bake_messages(rid)) and "*Publish* succeeded" in text_of(m[0]) and m,
        what="the release",
    )
    assert len(done) == 1
    assert len(replicas.bake_commits("base", rid)) == 1
    assert replicas.approval_results() == 1


def test_a_killed_replica_restarts_and_serves_while_the_other_kept_serving(replicas: Replicas) -> None:
    """The harness's own controls, which the SIGKILL/SIGSTOP/SIGTERM tests build on."""
    replicas.start(2)
    before = replicas.url(0)
    replicas.kill(0)
    assert "`/bake" in json.dumps(replicas.post_command(1, REQUESTER, "help"))  # the other one still answers
    replicas.restart(0)
    assert replicas.url(0) != before
    assert "`/bake" in json.dumps(replicas.post_command(0, REQUESTER, "help"))
    replicas.pause(1)
    replicas.resume(1)
    assert "`/bake" in json.dumps(replicas.post_command(1, REQUESTER, "help"))
