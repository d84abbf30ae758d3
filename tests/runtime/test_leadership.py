"""Leadership: one replica leads, a paused one knows it no longer does, and its late writes are refused."""

from __future__ import annotations

import threading

import pytest

from bot.domain.fencing import FenceLost
from bot.runtime.leases import SAFETY, Leadership, replica_id
from bot.state.sqlite import SqliteStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "state.db")
    yield s
    s.close()


def test_one_of_two_leads_and_the_other_takes_over_when_it_is_released(store):
    a, b = Leadership(store, "housekeeping", holder="a"), Leadership(store, "housekeeping", holder="b")
    assert a.step() and not b.step()
    assert a.fence() is not None and b.fence() is None
    a.release()
    assert a.fence() is None and b.step()
    assert b.fence().token == 2


def test_past_its_local_deadline_a_leader_holds_nothing_before_it_renews(store):
    clock = Clock()
    a = Leadership(store, "publisher", holder="a", ttl=10, clock=clock)
    assert a.step()
    clock.now += 10 * (1 - SAFETY) - 0.01
    assert a.held()
    clock.now += 0.02  # e.g. woken from SIGSTOP: the monotonic clock ran on
    assert a.fence() is None


def test_lead_runs_the_body_fenced_and_stops_writing_when_the_lease_went_elsewhere(store):
    a = Leadership(store, "publisher", holder="a", ttl=30)
    assert a.step()
    stop = threading.Event()
    rounds: list[int] = []

    def body() -> None:
        rounds.append(1)
        store.create("bake", f"b-{len(rounds)}", {})  # the first round writes: it leads
        if len(rounds) == 2:
            stop.set()  # after this round, whatever happens
            # Another replica takes the lease over (as if ours lapsed while we were paused) ...
            store.release_lease(store.lease_of("publisher"))
            assert store.acquire_lease("publisher", "b", 30) is not None
            store.create("bake", "b-late", {})  # ... so this write is refused

    a.lead(stop, body)
    assert len(rounds) == 2 and store.get("bake", "b-1") is not None and store.get("bake", "b-2") is not None
    assert store.get("bake", "b-late") is None and a.fence() is None


def test_a_fence_lost_midway_is_raised_to_the_body_not_swallowed_elsewhere(store):
    a = Leadership(store, "l", holder="a", ttl=30)
    assert a.step()
    grant = store.lease_of("l")
    store.release_lease(grant)
    store.acquire_lease("l", "b", 30)
    stop = threading.Event()
    seen: list[Exception] = []

    def body() -> None:
        stop.set()
        try:
            store.create("bake", "b-1", {})
        except FenceLost as exc:
            seen.append(exc)
            raise

    a.lead(stop, body)
    assert len(seen) == 1 and not a.held()


def test_replica_ids_name_host_and_pid():
    import os

    assert f":{os.getpid()}:" in replica_id()
