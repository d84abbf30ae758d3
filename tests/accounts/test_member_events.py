"""Pipeline events from a member account (CONTRACT §8, §13), driven from outside through the queue: repeated and
late events change nothing more, and an account that is not listed changes nothing at all."""

from __future__ import annotations

import datetime as dt
import json

from bot.bakes.following import EXECUTION
from bot.bakes.record import BakeStatus
from bot.sandbox.aws.seed import register_ami
from tests.accounts.conftest import MEMBER
from tests.accounts.test_member_bake import in_member_account, member_ec2
from tests.fixtures.bakery import REQUESTER, Bakery

STRANGER = "999999999999"


def at(seconds: int) -> str:
    """The times run_pipeline stamps its events with: 09:00:00, then every 7 seconds."""
    return (dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def opened(bakery: Bakery) -> tuple[str, str]:
    answer = bakery.command(REQUESTER, "base")["text"]
    assert "Bake `b-" in answer, answer
    rid = answer.split("`")[1]
    return rid, bakery.commit_of(rid)


def test_repeated_and_late_events_from_the_member_account_change_nothing_more(bakery_factory):
    bakery = bakery_factory(text=in_member_account)
    rid, commit = opened(bakery)
    ami = register_ami(member_ec2(), f"base-{rid}", {"bakery:request-id": rid, "bakery:image": "base"})
    ex = bakery.run_pipeline("base", commit, account=MEMBER, request_id=rid, amis=[("eu-west-1", ami)])
    bakery.wait(lambda: bakery.services.bakes.get(rid).status == BakeStatus.SUCCEEDED, what="the bake succeeding")
    bakery.wait_idle()
    before = bakery.services.bakes.get(rid).to_doc()
    shown = json.dumps(bakery.bake_message(rid)["blocks"])
    posts = len(bakery.messages())

    # run_pipeline's times: the execution starts at 0, stage i starts at 7 * (1 + 2i) and ends 7 s later.
    again = [
        bakery.event(ex, "STARTED", account=MEMBER, time=at(0)),  # delivered again
        bakery.event(ex, "SUCCEEDED", "Bake", account=MEMBER, time=at(42)),
        bakery.result(ex, rid, commit, [("eu-west-1", ami)], account=MEMBER),
        bakery.event(ex, "SUCCEEDED", account=MEMBER, time=at(91)),
        bakery.event(ex, "STARTED", "Test", account=MEMBER, time=at(49)),  # late: after the execution ended
        bakery.event(ex, "STARTED", "Source", account=MEMBER, time=at(7)),
        bakery.event(ex, "STARTED", "Approve", account=MEMBER, time=at(63)),
    ]
    for message in again:
        bakery.deliver(message, via="sqs-raw")
    bakery.wait_idle()
    assert bakery.services.bakes.get(rid).to_doc() == before
    assert json.dumps(bakery.bake_message(rid)["blocks"]) == shown
    assert len(bakery.messages()) == posts


def test_an_event_from_an_account_that_is_not_listed_changes_nothing(bakery_factory):
    bakery = bakery_factory(text=in_member_account)
    rid, commit = opened(bakery)
    bakery.wait_idle()
    before = bakery.services.bakes.get(rid).to_doc()
    ex = bakery.run_pipeline("base", commit, account=STRANGER, fail_stage="Validate")
    bakery.wait_idle()
    assert bakery.services.bakes.get(rid).to_doc() == before
    assert bakery.services.store.get(EXECUTION, ex) is None  # never even tied to a bake
    assert bakery.codepipeline.operations.count("GetPipelineExecution") == 0  # nor asked about
