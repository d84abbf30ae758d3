"""A refused AssumeRole while acting for a member image (CONTRACT §13) is told, never a crash, and backs off; an
expired credential is refreshed mid-bake with one AssumeRole. Driven from outside: `base` lives in the member
account, STS refuses (or starts refusing), and the assumed roles' clock is moved by hand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.sandbox.aws.events import approval_notification
from bot.sandbox.aws.seed import register_ami
from tests.accounts.conftest import MEMBER
from tests.accounts.test_member_bake import in_member_account, member_ec2
from tests.accounts.two_accounts import SwitchableSts
from tests.fixtures.bakery import APPROVER, REQUESTER, Bakery

REFUSED = f"The bakery cannot reach account {MEMBER} for image base: "
ADVICE = "Check the role's trust policy and BAKERY_EXTERNAL_ID."


class RoleClock:
    """The assumed roles' clock (credential expiry, back-off), moved by hand."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **by: float) -> None:
        self.offset += timedelta(**by)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> RoleClock:
    """The bot's assumed roles and moto's STS (the credentials' expiration it issues) on one clock."""
    moved = RoleClock()
    monkeypatch.setattr("moto.sts.models.utcnow", lambda: moved().replace(tzinfo=None))
    return moved


@pytest.fixture
def sts(moto: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SwitchableSts]:
    server = SwitchableSts(moto).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", server.endpoint)
    yield server
    server.stop()


def opened(bakery: Bakery) -> tuple[str, str]:
    answer = bakery.command(REQUESTER, "base")["text"]
    assert "Bake `b-" in answer, answer
    rid = answer.split("`")[1]
    return rid, bakery.commit_of(rid)


def thread_text(bakery: Bakery, rid: str) -> str:
    return json.dumps([m.get("text", "") for m in bakery.thread(rid)] + [m.get("blocks") for m in bakery.thread(rid)])


def test_a_bake_whose_role_is_refused_is_answered_with_why_and_opens_nothing(bakery_factory, refusing_sts):
    bakery = bakery_factory(text=in_member_account)
    for _ in range(3):
        answer = bakery.command(REQUESTER, "base")["text"]
        assert REFUSED in answer and ADVICE in answer, answer
    assert refusing_sts.calls == 1  # the later /bakes met the back-off, not STS
    assert bakery.services.bakes.in_flight() == []


def test_a_role_refused_mid_bake_is_told_in_its_thread_and_redeliveries_back_off(bakery_factory, sts, clock):
    bakery = bakery_factory(text=in_member_account, assume_role_clock=clock)
    rid, commit = opened(bakery)
    assert sts.calls == 1
    sts.refuse = True
    clock.advance(hours=2)  # the credentials expired: the next call for base must assume the role again

    ex = bakery.start_execution("base", commit)  # an execution the bot must ask base's account about
    for stage in ("", "Source", "Validate"):
        bakery.deliver(bakery.event(ex, "STARTED", stage, account=MEMBER))
    bakery.wait(lambda: REFUSED in thread_text(bakery, rid), what="the refusal in the bake's thread")
    bakery.wait_idle()  # each message was tried twice and dead-lettered: the queue's normal path
    assert sts.calls == 2  # six tries within the back-off window, one AssumeRole
    assert ADVICE in thread_text(bakery, rid)
    assert bakery.services.bakes.get(rid).execution_id == ""  # nothing applied

    clock.advance(seconds=31)  # past the first back-off: the next try asks STS again, once
    bakery.deliver(bakery.event(ex, "STARTED", "Bake", account=MEMBER))
    bakery.wait_idle()
    assert sts.calls == 3

    sts.refuse = False
    clock.advance(seconds=61)  # past the doubled back-off, and the role trusts the bakery again
    bakery.deliver(bakery.event(ex, "STARTED", "Test", account=MEMBER))
    bakery.wait(lambda: bakery.services.bakes.get(rid).execution_id == ex, what="the bake going on")
    assert sts.calls == 4


def test_an_expired_credential_is_refreshed_mid_bake_with_one_assume_role(bakery_factory, sts, clock):
    bakery = bakery_factory(text=in_member_account, assume_role_clock=clock)
    rid, commit = opened(bakery)
    ex = bakery.start_execution("base", commit)
    bakery.deliver(bakery.event(ex, "STARTED", account=MEMBER))
    bakery.wait(lambda: bakery.services.bakes.get(rid).execution_id == ex, what="the execution tied")
    assert sts.calls == 1
    ami = register_ami(member_ec2(), f"base-{rid}", {"bakery:request-id": rid, "bakery:image": "base"})
    sts.calls -= 1  # the test's own AssumeRole, to make that AMI in the member account

    clock.advance(hours=2)  # past the credentials' expiry
    bakery.deliver(bakery.result(ex, rid, commit, [("eu-west-1", ami)], account=MEMBER))  # checked in base's account
    ex2 = bakery.start_execution("base", commit)  # and one execution it must ask base's pipeline about
    bakery.deliver(bakery.event(ex2, "STARTED", account=MEMBER))
    bakery.wait(lambda: [a.ami_id for a in bakery.services.bakes.get(rid).amis] == [ami], what="the AMI believed")
    bakery.wait_idle()
    assert sts.calls == 2  # one new AssumeRole, shared by every call after the expiry


def test_an_approval_whose_role_is_refused_is_told_in_the_thread_and_stays_open(bakery_factory, sts, clock):
    bakery = bakery_factory(text=in_member_account, assume_role_clock=clock)
    rid, commit = opened(bakery)
    ex = bakery.start_execution("base", commit)
    bakery.deliver(bakery.event(ex, "STARTED", account=MEMBER))
    bakery.codepipeline.set_stage_state("ami-bakery-base", "Approve", "InProgress", execution_id=ex)
    token = bakery.codepipeline.open_approval("ami-bakery-base", "Approve", "Approve", execution_id=ex)
    bakery.deliver(
        approval_notification(
            pipeline="ami-bakery-base", stage="Approve", action="Approve", token=token, expires="2099-01-01T00:00Z"
        )
    )
    card = bakery.wait(lambda: bakery.approval_card(rid), what="the approval buttons")
    sts.refuse = True
    clock.advance(hours=2)

    status, _ = bakery.click(APPROVER, card, "bake_approve")
    assert status == 200
    bakery.wait(lambda: REFUSED in thread_text(bakery, rid), what="the refusal in the bake's thread")
    bakery.wait_ephemeral(APPROVER, REFUSED)
    assert bakery.codepipeline.decisions() == []  # nothing was decided: the approval is open for a retry
    assert bakery.services.bakes.get(rid).approvals[0].status == "pending"
