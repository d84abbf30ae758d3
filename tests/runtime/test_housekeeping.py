"""Housekeeping: each chore runs at start, then once per its own duration, whatever the tick."""

from __future__ import annotations

import pytest

from bot.domain.fencing import Fence, FenceLost
from bot.runtime.housekeeping import Chore, Housekeeping


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_every_chore_runs_at_start_then_on_its_own_cadence():
    clock = Clock()
    runs: list[str] = []
    chores = [
        Chore("poll", 1.0, lambda: runs.append("poll")),
        Chore("expiry", 30.0, lambda: runs.append("expiry")),
        Chore("sweep", 3600.0, lambda: runs.append("sweep")),
    ]
    house = Housekeeping(chores, tick=1.0, clock=clock)
    assert house.run_due() == ["poll", "expiry", "sweep"]
    for _ in range(59):  # one minute of one-second ticks
        clock.now += 1.0
        house.run_due()
    assert runs.count("poll") == 60
    assert runs.count("expiry") == 2  # at 0 s and 30 s
    assert runs.count("sweep") == 1
    clock.now += 3600.0
    assert "sweep" in house.run_due()


def test_a_slow_tick_does_not_make_a_chore_run_more_often_than_its_duration():
    clock = Clock()
    runs: list[str] = []
    house = Housekeeping([Chore("expiry", 30.0, lambda: runs.append("x"))], tick=0.05, clock=clock)
    for _ in range(100):  # 100 ticks in 5 s: a count of ticks would have run it three times
        house.run_due()
        clock.now += 0.05
    assert runs == ["x"]


def test_a_failing_chore_is_logged_and_the_others_still_run(caplog):
    clock = Clock()
    runs: list[str] = []

    def broken() -> None:
        raise RuntimeError("DescribeInstanceRefreshes throttled")

    house = Housekeeping([Chore("poll", 1.0, broken), Chore("expiry", 30.0, lambda: runs.append("x"))], clock=clock)
    house.run_due()
    assert runs == ["x"]
    assert "housekeeping.failed chore=poll" in caplog.text and "throttled" in caplog.text


def test_a_delayed_chore_first_runs_once_its_delay_has_passed():
    clock = Clock()
    runs: list[str] = []
    house = Housekeeping([Chore("sweep", 900.0, lambda: runs.append("sweep"), delay=120.0)], tick=1.0, clock=clock)
    assert house.run_due() == []
    clock.now += 119.0
    assert house.run_due() == []
    clock.now += 1.0
    assert house.run_due() == ["sweep"]
    clock.now += 899.0
    assert house.run_due() == []


def test_a_chore_that_finds_its_fence_gone_ends_the_round_and_the_next_chores_wait():
    runs: list[str] = []

    def fenced_out() -> None:
        raise FenceLost(Fence("housekeeping", "a", 1))

    house = Housekeeping([Chore("first", 1.0, fenced_out), Chore("second", 1.0, lambda: runs.append("x"))])
    with pytest.raises(FenceLost):  # up to the led loop, which stops leading
        house.run_due()
    assert runs == []  # no other chore wrote after this replica lost the lease
