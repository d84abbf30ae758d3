"""Leases and fenced writes, on both backends: the ground every led loop of several replicas stands on."""

from __future__ import annotations

import threading
import time

import pytest

from bot.domain.fencing import Fence, FenceLost, LeaseGrant, fenced
from bot.state.base import StoreBase

A, B = "host-a:1:aa", "host-b:2:bb"


def test_a_free_lease_is_taken_with_token_1_and_refused_to_another_while_it_lasts(store: StoreBase):
    grant = store.acquire_lease("publisher", A, 10)
    assert grant is not None and (grant.holder, grant.token) == (A, 1)
    assert grant.expires_at == pytest.approx(time.time() + 10, abs=2)
    assert store.acquire_lease("publisher", B, 10) is None
    assert store.lease_of("publisher") == grant


def test_a_lapsed_lease_goes_to_the_next_holder_with_a_higher_token(store: StoreBase):
    now = time.time()
    first = store.acquire_lease("housekeeping", A, 5, now=now)
    assert first is not None
    taken = store.acquire_lease("housekeeping", B, 5, now=now + 6)
    assert taken is not None and (taken.holder, taken.token) == (B, 2)
    assert store.renew_lease(first, 5, now=now + 6) is None  # the old holder cannot renew what it lost


def test_renewing_keeps_the_token_and_moves_the_expiry(store: StoreBase):
    now = time.time()
    grant = store.acquire_lease("l", A, 5, now=now)
    assert grant is not None
    renewed = store.renew_lease(grant, 5, now=now + 3)
    assert renewed == LeaseGrant("l", A, 1, now + 8)
    assert store.acquire_lease("l", B, 5, now=now + 6) is None  # still held: renewed past 6


def test_a_lease_that_lapsed_is_not_renewed_even_if_nobody_took_it(store: StoreBase):
    now = time.time()
    grant = store.acquire_lease("l", A, 5, now=now)
    assert grant is not None and store.renew_lease(grant, 5, now=now + 5.5) is None


def test_a_released_lease_is_free_at_once_and_the_next_token_is_higher(store: StoreBase):
    grant = store.acquire_lease("l", A, 60)
    assert grant is not None and store.release_lease(grant)
    nxt = store.acquire_lease("l", B, 60)
    assert nxt is not None and nxt.token == 2
    assert not store.release_lease(grant)  # a stale grant releases nothing


def test_fenced_writes_land_while_the_lease_holds(store: StoreBase):
    grant = store.acquire_lease("l", A, 60)
    assert grant is not None
    with fenced(Fence.of(grant)):
        assert store.create("bake", "b-1", {"n": 1})
        assert not store.create("bake", "b-1", {"n": 9})  # its own condition still counts: False, not FenceLost
        assert store.replace("bake", "b-1", {"n": 2}, expected_version=1)
        assert not store.replace("bake", "b-1", {"n": 3}, expected_version=1)
        store.mutate("bake", "b-1", lambda doc: {**doc, "m": 1})
        assert store.create("bake", "b-2", {})
        assert store.delete("bake", "b-2")
        assert not store.delete("bake", "b-2")
    assert store.get("bake", "b-1").doc == {"n": 2, "m": 1}


def test_a_fenced_write_after_the_lease_moved_on_raises_and_writes_nothing(store: StoreBase):
    now = time.time()
    old = store.acquire_lease("l", A, 1, now=now - 2)  # already lapsed
    assert old is not None
    store.create("bake", "b-1", {"n": 1})
    with fenced(Fence.of(old)):
        with pytest.raises(FenceLost, match="lease l is no longer held"):
            store.create("bake", "b-2", {"n": 1})
    assert store.get("bake", "b-2") is None
    new = store.acquire_lease("l", B, 60)
    assert new is not None and new.token == 2
    with fenced(Fence.of(old)):
        for write in (
            lambda: store.replace("bake", "b-1", {"n": 2}, expected_version=1),
            lambda: store.delete("bake", "b-1"),
            lambda: store.delete("bake", "b-1", expected_version=1),
            lambda: store.mutate("bake", "b-1", lambda doc: {"n": 3}),
        ):
            with pytest.raises(FenceLost):
                write()
    assert store.get("bake", "b-1").doc == {"n": 1} and store.get("bake", "b-1").version == 1
    with fenced(Fence.of(new)):
        assert store.replace("bake", "b-1", {"n": 2}, expected_version=1)


def test_a_fence_of_a_lease_that_never_existed_refuses(store: StoreBase):
    with fenced(Fence("ghost", A, 1)), pytest.raises(FenceLost):
        store.create("bake", "b-1", {})
    assert store.get("bake", "b-1") is None


def test_the_lease_calls_themselves_are_never_fenced(store: StoreBase):
    with fenced(Fence("ghost", A, 1)):
        grant = store.acquire_lease("l", A, 60)
        assert grant is not None and store.renew_lease(grant, 60) is not None and store.release_lease(grant)


def test_many_contenders_one_holder(open_same_store):
    stores = [open_same_store() for _ in range(2)]
    winners: list[LeaseGrant] = []
    lock = threading.Lock()

    def contend(i: int) -> None:
        grant = stores[i % 2].acquire_lease("race", f"h{i}", 60)
        if grant is not None:
            with lock:
                winners.append(grant)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1 and stores[0].lease_of("race") == winners[0]
