"""The assumed roles' clock (CONTRACT §13): after a refusal STS is not asked again before a back-off (30 s, doubling
to 5 minutes, forgotten on success), and callers that meet expired credentials together share one AssumeRole."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.adapters.aws.assumed import AssumedSessions, AssumeRoleRefused
from tests.accounts.conftest import MEMBER, ROLE
from tests.accounts.test_assumed_roles import assume_role_calls
from tests.fixtures.aws import new_session


@pytest.fixture
def own(moto: str) -> Any:
    return new_session()


def test_after_a_refusal_sts_is_asked_again_only_after_a_back_off_that_doubles_and_resets_on_success(
    own, refusing_sts, monkeypatch
):
    now = [datetime.now(UTC)]
    assumed = AssumedSessions(lambda region: own.client("sts", region_name=region), time_fetcher=lambda: now[0])

    def attempt() -> None:
        with pytest.raises(AssumeRoleRefused, match=f"cannot reach account {MEMBER} for image web"):
            assumed.check(ROLE, "web", "eu-west-1")

    for waited, calls in ((0, 1), (29, 1), (2, 2), (59, 2), (2, 3), (119, 3), (2, 4)):
        now[0] += timedelta(seconds=waited)
        attempt()
        assert refusing_sts.calls == calls, (waited, calls)
    for _ in range(6):  # the back-off grows to 5 minutes and no further
        now[0] += timedelta(minutes=10)
        attempt()
    calls = refusing_sts.calls
    now[0] += timedelta(seconds=301)
    attempt()
    assert refusing_sts.calls == calls + 1

    monkeypatch.delenv("AWS_ENDPOINT_URL_STS")  # the role trusts the bakery again: moto's STS answers
    fresh = AssumedSessions(lambda region: own.client("sts", region_name=region), time_fetcher=lambda: now[0])
    fresh._backoff = assumed._backoff  # the same remembered refusal, with an STS that now answers
    now[0] += timedelta(seconds=301)
    fresh.check(ROLE, "web", "eu-west-1")
    assert fresh._backoff == {}  # forgotten on success: the next refusal starts again at 30 s


def test_concurrent_calls_after_expiry_share_one_refresh(own, monkeypatch):
    calls = assume_role_calls(own)
    offset = [timedelta(0)]
    # moto's STS issues credentials on the same moved clock, so new ones are fresh on it.
    monkeypatch.setattr("moto.sts.models.utcnow", lambda: (datetime.now(UTC) + offset[0]).replace(tzinfo=None))
    assumed = AssumedSessions(
        lambda region: own.client("sts", region_name=region), time_fetcher=lambda: datetime.now(UTC) + offset[0]
    )
    session = assumed.session(ROLE, "web", "eu-west-1")
    session.client("sts").get_caller_identity()
    assert len(calls) == 1
    offset[0] = timedelta(hours=2)  # past the expiry: a mandatory refresh for every caller
    start = threading.Barrier(8)
    accounts: list[str] = []

    def call() -> None:
        client = session.client("sts")
        start.wait()
        accounts.append(client.get_caller_identity()["Account"])

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert accounts == [MEMBER] * 8
    assert len(calls) == 2
