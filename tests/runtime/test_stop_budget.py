"""A stop with a budget waits for the bake workers only that long, says how many jobs it left, and still hands
the lease back and closes the store."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from bot.runtime.answers import Answers
from bot.runtime.foreground import Foreground
from bot.runtime.housekeeping import Housekeeping
from bot.runtime.leases import LeaseTimes
from bot.runtime.runner import Runtime
from bot.runtime.workers import BakeWorkers
from bot.state.sqlite import SqliteStore
from tests.runtime.test_led_housekeeping import QuietPublisher


def test_a_job_still_running_when_the_budget_is_spent_is_left_and_counted(tmp_path):
    store = SqliteStore(tmp_path / "state.db")
    workers = BakeWorkers(workers=1, foreground=Foreground(max_wait=0))
    services = SimpleNamespace(
        bakes=SimpleNamespace(recover=lambda: None),
        approvals=SimpleNamespace(resume=lambda: None),
        rollouts=SimpleNamespace(recover=lambda: None),
        release_flow=SimpleNamespace(recover=lambda: None),
        publisher=QuietPublisher(),
        rollout_publisher=QuietPublisher(),
        train_publisher=QuietPublisher(),
        workers=workers,
        answers=Answers(),
        store=store,
    )
    runtime = Runtime(
        services,  # type: ignore[arg-type]
        housekeeping=Housekeeping([], tick=0.01),
        leases=LeaseTimes(ttl=30, renew_every=0.1, holder="a"),
    )
    runtime.start()
    stuck, started = threading.Event(), threading.Event()
    workers.submit(lambda: (started.set(), stuck.wait(30)))
    assert started.wait(10)
    try:
        asked = time.monotonic()
        assert runtime.stop(budget=0.5) == 1
        assert time.monotonic() - asked < 3  # the budget, not the job, decided
        again = SqliteStore(tmp_path / "state.db")  # the stop closed the first: open it anew
        lease = again.lease_of("housekeeping")
        again.close()
        assert lease is not None and lease.expires_at == 0.0
    finally:
        stuck.set()
