"""One Slack request, delivered twice (a retry, a Socket Mode redelivery) to two replicas on one table: one effect.

Each replica claims the request's identity in the state store after its acknowledgement and before any effect
(bot/runtime/requests.py): a trigger_id, an event_id, a Socket Mode envelope_id.
"""

from __future__ import annotations

import json

from bot.runtime.requests import REQUEST, RequestIdentities
from bot.state.sqlite import SqliteStore
from handlers.commands.bake import ALREADY_RECEIVED
from tests.fixtures.bakery import APPROVER, REQUESTER, block_actions, git_log, slash_form
from tests.fixtures.waiting import wait_for, wait_idle


def _answer_of(bakery, body: str, response_url: str) -> str:
    """The answer a delivery got: on its acknowledgement, or through the response_url when that came late."""
    text = json.loads(body).get("text", "")
    if "still checking" in text.lower():
        late = bakery.wait(lambda: bakery.response_to(response_url), what="the late answer")
        text = late.get("text", "")
    return text


def test_a_slash_command_delivered_to_both_replicas_commits_once(bakery_factory):
    a, b = bakery_factory(backend="dynamodb"), bakery_factory(backend="dynamodb")
    before = len(git_log(a.repos["base"]))
    url_a, url_b = a.slack.response_url("C0BAKERY", REQUESTER), b.slack.response_url("C0BAKERY", REQUESTER)
    form = slash_form(REQUESTER, "base CVE-1")
    status_a, body_a = a.post_slack({**form, "response_url": url_a})
    # Slack's retry of the same command (same trigger_id), which a load balancer sends to the other replica.
    status_b, body_b = b.post_slack({**form, "response_url": url_b}, headers={"X-Slack-Retry-Num": "1"})
    assert (status_a, status_b) == (200, 200)
    answers = [_answer_of(a, body_a, url_a), _answer_of(b, body_b, url_b)]
    assert sum(ALREADY_RECEIVED in text for text in answers) == 1, answers
    wait_for(lambda: len(git_log(a.repos["base"])) > before, 15, "the bake's commit")
    wait_idle(a.bot), wait_idle(b.bot)
    commits = git_log(a.repos["base"])
    assert len(commits) == before + 1
    assert [bake.image for bake in a.services.bakes.in_flight()] == ["base"]


def test_a_click_delivered_to_both_replicas_puts_one_approval_result(bakery_factory):
    a = bakery_factory(backend="dynamodb")
    b = bakery_factory(backend="dynamodb")
    pipeline = a.codepipeline
    request_id = a.command(REQUESTER, "base CVE-2")["text"].split("`")[1]
    a.reach_approval("base", request_id)
    card = a.approval_card(request_id)
    block, button = next(
        (block, element)
        for block in card["blocks"]
        for element in block.get("elements") or []
        if element.get("action_id") == "bake_approve"
    )
    payload = {"payload": json.dumps(block_actions(APPROVER, card, block, button))}
    assert a.post_slack(payload)[0] == 200
    assert b.post_slack(payload, headers={"X-Slack-Retry-Num": "1"})[0] == 200
    wait_for(lambda: pipeline.decisions(), 15, "the approval result")
    wait_idle(a.bot), wait_idle(b.bot)
    assert pipeline.operations.count("PutApprovalResult") == 1
    assert len(pipeline.decisions()) == 1
    # The approval record's claim already keeps the second delivery from deciding; the request's identity also
    # keeps it from answering: the approver is told once.
    assert a.ephemerals(APPROVER) == [f":white_check_mark: You approved `{request_id}`."]


def test_every_key_of_a_request_is_claimed_and_old_claims_are_forgotten(tmp_path):
    import datetime as dt

    day = [dt.date(2026, 12, 1)]
    store = SqliteStore(tmp_path / "state.db")
    claims = RequestIdentities(store, today=lambda: day[0])
    assert claims.first(("trigger:1", "envelope:e1"))
    assert not claims.first(("trigger:1",))
    assert not claims.first(("trigger:2", "envelope:e1"))  # the same envelope carrying another request
    assert claims.first(())  # nothing to know it by: handled
    day[0] = dt.date(2026, 12, 2)
    assert claims.forget_old() == 0  # a day old: kept
    day[0] = dt.date(2026, 12, 3)
    assert claims.forget_old() == 3
    assert store.get(REQUEST, "trigger:1") is None
    assert claims.first(("trigger:1",))
