"""Two accounts may both have `ami-bakery-web` (CONTRACT §13): the bakery's own image `web` and the member image
`shop`. Each account's events and approvals reach only its own bake, driven from outside through the queue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from itertools import count
from typing import Any

import pytest

from bot.bakes.record import BakeStatus
from bot.config import parse_config
from bot.domain.errors import ConfigError
from bot.sandbox.aws.events import approval_notification, pipeline_event
from bot.sandbox.aws.fake_codepipeline import FakeCodePipeline
from tests.accounts.conftest import MEMBER, ROLE
from tests.accounts.two_accounts import AccountPipelines, with_member_web
from tests.fixtures.aws import ACCOUNT
from tests.fixtures.bakery import REQUESTER, Bakery, make_bare_repo

PIPELINE = "ami-bakery-web"
_seconds = count()


def at() -> str:
    moment = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=7 * next(_seconds))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def failing(execution_id: str, stage: str, *, account: str) -> list[dict[str, Any]]:
    """An execution of `ami-bakery-web` in `account` that starts and fails at `stage`, as EventBridge sends it."""

    def event(state: str, stage: str = "", action: str = "") -> dict[str, Any]:
        return pipeline_event(
            pipeline=PIPELINE, execution_id=execution_id, state=state, stage=stage, action=action, account=account,
            time=at(), summary=f"{stage} failed",
        )  # fmt: skip

    return [
        event("STARTED"),
        event("STARTED", stage),
        event("FAILED", stage, stage),
        event("FAILED", stage),
        event("FAILED"),
    ]


@pytest.fixture
def two(bakery_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Bakery, FakeCodePipeline]]:
    """The bot with `web` (the bakery's account) and `shop` (the member's), each account with its own CodePipeline."""
    member = FakeCodePipeline(account=MEMBER)  # answered through the router, in the member's account only
    member.add_pipeline(PIPELINE)
    router = AccountPipelines({ACCOUNT: bakery_factory.codepipeline, MEMBER: member}).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEPIPELINE", router.endpoint)
    shop_repo = make_bare_repo(bakery_factory.root / "remotes", "shop")
    try:
        yield bakery_factory(text=with_member_web(shop_repo)), member
    finally:
        router.stop()


def opened(bakery: Bakery, image: str) -> tuple[str, str]:
    answer = bakery.command(REQUESTER, image)["text"]
    assert "Bake `b-" in answer, answer
    rid = answer.split("`")[1]
    return rid, bakery.commit_of(rid)


def status(bakery: Bakery, rid: str) -> str:
    bake = bakery.services.bakes.get(rid)
    assert bake is not None
    return bake.status


def test_one_pipeline_name_in_two_accounts_each_account_s_events_advance_only_its_own_bake(two):
    bakery, member = two
    web, web_commit = opened(bakery, "web")
    shop, shop_commit = opened(bakery, "shop")
    ours = bakery.codepipeline.start_execution(PIPELINE, web_commit, trigger="CloudWatchEvent")
    theirs = member.start_execution(PIPELINE, shop_commit, trigger="CloudWatchEvent")

    for event in failing(theirs, "Validate", account=MEMBER):
        bakery.deliver(event, via="sqs-raw")
    bakery.wait(lambda: status(bakery, shop) == BakeStatus.FAILED, what="the member's bake failing")
    bakery.wait_idle()
    assert status(bakery, web) == BakeStatus.COMMITTED  # the bakery's own ami-bakery-web did not move

    for event in failing(ours, "Bake", account=ACCOUNT):
        bakery.deliver(event, via="sqs-raw")
    bakery.wait(lambda: status(bakery, web) == BakeStatus.FAILED, what="the bakery's own bake failing")
    assert set(bakery.services.bakes.get(web).stages) >= {"Bake"}
    assert "Bake" not in bakery.services.bakes.get(shop).stages  # the member's bake kept its own history


def test_an_approval_attaches_to_the_account_whose_pipeline_waits_on_its_token(two):
    bakery, member = two
    web, web_commit = opened(bakery, "web")
    shop, shop_commit = opened(bakery, "shop")
    ours = bakery.codepipeline.start_execution(PIPELINE, web_commit, trigger="CloudWatchEvent")
    theirs = member.start_execution(PIPELINE, shop_commit, trigger="CloudWatchEvent")
    tokens = {}
    for account, pipelines, execution in ((ACCOUNT, bakery.codepipeline, ours), (MEMBER, member, theirs)):
        bakery.deliver(
            pipeline_event(pipeline=PIPELINE, execution_id=execution, state="STARTED", account=account, time=at())
        )
        pipelines.set_stage_state(PIPELINE, "Approve", "InProgress", execution_id=execution)
        tokens[account] = pipelines.open_approval(PIPELINE, "Approve", "Approve", execution_id=execution)

    def note(token: str) -> dict[str, Any]:
        return approval_notification(
            pipeline=PIPELINE, stage="Approve", action="Approve", token=token, expires="2099-01-01T00:00Z"
        )

    bakery.deliver(note(tokens[MEMBER]))  # only the member's pipeline shows this token
    bakery.wait(lambda: bakery.approval_card(shop), what="the member bake's approval buttons")
    bakery.deliver(note("0f0f0f0f-0000-4000-8000-000000000000"))  # no account shows this one
    bakery.wait_idle()
    assert bakery.approval_card(web) is None
    assert bakery.services.bakes.get(web).approvals == ()

    bakery.deliver(note(tokens[ACCOUNT]))
    bakery.wait(lambda: bakery.approval_card(web), what="the bakery's own bake's approval buttons")
    assert [a.request.token for a in bakery.services.bakes.get(shop).approvals] == [tokens[MEMBER]]
    assert [a.request.token for a in bakery.services.bakes.get(web).approvals] == [tokens[ACCOUNT]]


def images(*members: tuple[str, str]) -> str:
    """`web` in the bakery's account, and each (name, role) on the same pipeline name ("" role: the bakery's)."""
    lines = [
        "slack: {channel: C0BAKERY}",
        "images:",
        "  web: {repository: codecommit://ami-bakery-web, pipeline: ami-bakery-web}",
    ]
    for name, role in members:
        keys = f", account_role: '{role}'" if role else ""
        lines.append(f"  {name}: {{repository: codecommit://ami-bakery-{name}, pipeline: ami-bakery-web{keys}}}")
    return "\n".join(lines) + "\n"


def test_one_pipeline_name_is_allowed_in_two_accounts_and_refused_twice_in_one():
    other = ROLE.replace(MEMBER, "333333333333")
    assert set(parse_config(images(("shop", ROLE), ("api", other))).images) == {"web", "shop", "api"}
    with pytest.raises(ConfigError) as refused:
        parse_config(images(("shop", "")))
    assert refused.value.problems == [
        "images.shop.pipeline: pipeline 'ami-bakery-web' is already used by image 'web' in the bakery's account"
    ]
    with pytest.raises(ConfigError) as refused:
        parse_config(images(("shop", ROLE), ("api", ROLE)))
    assert refused.value.problems == [
        f"images.api.pipeline: pipeline 'ami-bakery-web' is already used by image 'shop' in account {MEMBER}"
    ]
