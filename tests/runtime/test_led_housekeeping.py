"""Two Runtimes on one DynamoDB store (moto): one runs the chores, the other takes over when it stops, and a
paused leader writes nothing once it wakes (CONTRACT §15)."""

from __future__ import annotations

import itertools
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from bot.domain.fencing import FenceLost
from bot.runtime.answers import Answers
from bot.runtime.foreground import Foreground
from bot.runtime.housekeeping import Chore, Housekeeping
from bot.runtime.leases import LeaseTimes
from bot.runtime.runner import Runtime
from bot.runtime.workers import BakeWorkers
from bot.state.dynamodb import DynamoStore, ensure_table
from tests.fixtures.aws import REGION, new_session
from tests.fixtures.waiting import wait_for

TABLE = "ami-bakery-led"


class QuietPublisher:
    def recover(self) -> None: ...
    def lead_with(self, leader: object) -> None: ...
    def run(self, stop: threading.Event) -> None:
        stop.wait()

    def wake(self) -> None: ...
    def pending(self) -> int:
        return 0

    def flush(self, timeout: float) -> None: ...


class Replica:
    """A Runtime whose one chore writes a record named after it (fenced, like every chore's writes)."""

    def __init__(self, store: DynamoStore, name: str, times: LeaseTimes):
        self.store, self.name = store, name
        self.recovered: list[int] = []
        self.attempts: list[str] = []
        self.wrote: list[str] = []
        self.refused: list[str] = []
        self._n = itertools.count()
        services = SimpleNamespace(
            bakes=SimpleNamespace(recover=lambda: self.recovered.append(1)),
            approvals=SimpleNamespace(resume=lambda: None),
            rollouts=SimpleNamespace(recover=lambda: None),
            release_flow=SimpleNamespace(recover=lambda: None),
            publisher=QuietPublisher(),
            rollout_publisher=QuietPublisher(),
            train_publisher=QuietPublisher(),
            workers=BakeWorkers(workers=1, foreground=Foreground(max_wait=0)),
            answers=Answers(),
            store=store,
        )
        housekeeping = Housekeeping([Chore("note", 0.05, self.note)], tick=0.02)
        self.runtime = Runtime(services, housekeeping=housekeeping, leases=times)  # type: ignore[arg-type]

    def note(self) -> None:
        key = f"{self.name}-{next(self._n)}"
        self.attempts.append(key)
        try:
            self.store.create("chore", key, {})
        except FenceLost:
            self.refused.append(key)
            raise
        self.wrote.append(key)

    def written(self) -> set[str]:
        """This replica's chore records as the store holds them."""
        return {key for key in self.wrote + self.refused if self.store.get("chore", key) is not None}


class PausableStore(DynamoStore):
    """Every call blocks while `paused`: the process is stopped (SIGSTOP), threads and all."""

    def __init__(self, client: Any, table: str):
        super().__init__(client, table)
        self.awake = threading.Event()
        self.awake.set()

    def get(self, *args: Any, **kw: Any) -> Any:
        self.awake.wait()
        return super().get(*args, **kw)

    def create(self, *args: Any, **kw: Any) -> Any:
        self.awake.wait()
        return super().create(*args, **kw)

    def replace(self, *args: Any, **kw: Any) -> Any:
        self.awake.wait()
        return super().replace(*args, **kw)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client(moto: str) -> Any:
    client = new_session(REGION).client("dynamodb")
    ensure_table(client, TABLE)
    return client


def test_one_replica_runs_the_chores_and_the_other_takes_over_at_once_when_it_stops(client):
    # A lease of 20 s: taking over within a few seconds shows it was handed back, not left to lapse.
    a = Replica(DynamoStore(client, TABLE), "a", LeaseTimes(ttl=20, renew_every=0.1, holder="a"))
    b = Replica(DynamoStore(client, TABLE), "b", LeaseTimes(ttl=20, renew_every=0.1, holder="b"))
    a.runtime.start()
    b.runtime.start()
    try:
        assert a.recovered == [1] and b.recovered == []  # recovery ran at start on the leader only
        assert (a.runtime.leads()["housekeeping"], b.runtime.leads()["housekeeping"]) == (True, False)
        seen = len(wait_for(lambda: len(a.wrote) >= 3 and a.wrote, what="the leader's chores"))
        wait_for(lambda: len(a.wrote) >= seen + 3, what="more of the leader's rounds, the other replica running")
        assert b.attempts == []

        a.runtime.stop()
        assert a.runtime.leads() == {"housekeeping": False, "publisher": False}
        wait_for(lambda: b.wrote, timeout=5, what="the other replica's first chore")
        assert b.runtime.leads()["housekeeping"]
        assert b.recovered == [1]  # taking over, it recovered what the first may have left
        assert b.runtime.health()["leads"]["housekeeping"] and b.runtime.health()["replica"] == "b"
    finally:
        b.runtime.stop()


def test_a_paused_leader_writes_nothing_after_it_wakes(client):
    clock = Clock()
    paused_store = PausableStore(client, TABLE)
    a = Replica(paused_store, "a", LeaseTimes(ttl=1.0, renew_every=0.2, holder="a", clock=clock))
    b = Replica(DynamoStore(client, TABLE), "b", LeaseTimes(ttl=1.0, renew_every=0.05, holder="b"))
    a.runtime.start()
    b.runtime.start()
    try:
        wait_for(lambda: a.wrote, what="the leader's first chore")
        paused_store.awake.clear()  # SIGSTOP: its renewals and its chores stop where they are
        wait_for(lambda: b.wrote, timeout=10, what="the other replica leading once the lease lapsed")
        before = set(a.wrote)

        clock.now += 30.0  # SIGCONT: its monotonic clock ran on while it was stopped
        assert a.runtime.leads() == {"housekeeping": False, "publisher": False}  # it knows before it asks
        paused_store.awake.set()
        wait_for(lambda: a.refused or len(a.attempts) == len(before), what="the woken write to be refused")
        seen = len(b.wrote)
        wait_for(lambda: len(b.wrote) >= seen + 3, what="the new leader's rounds after the wake")

        assert a.written() == before  # nothing written after the pause, though a chore was mid-way
        assert len(a.attempts) <= len(before) + 1  # at most the one caught mid-way; no round after the wake
        assert b.runtime.leads()["housekeeping"] and not a.runtime.leads()["housekeeping"]
    finally:
        paused_store.awake.set()
        a.runtime.stop()
        b.runtime.stop()
