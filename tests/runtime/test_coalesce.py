"""Coalesced: a job off the caller's thread, never two at once; triggers during a run cost one more run."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from bot.domain.errors import ShuttingDown
from bot.runtime.coalesce import Coalesced
from tests.fixtures.waiting import wait_for


class Pool:
    """run_async that keeps the jobs until the test runs them, each on a thread of its own."""

    def __init__(self) -> None:
        self.queued: list[Callable[[], None]] = []
        self.threads: list[threading.Thread] = []

    def __call__(self, job: Callable[[], None]) -> None:
        self.queued.append(job)

    def start_all(self) -> None:
        jobs, self.queued = self.queued, []
        for job in jobs:
            thread = threading.Thread(target=job, daemon=True)
            thread.start()
            self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(5)


class Held:
    """A job that waits for the test before it returns, and records each run's `why`."""

    def __init__(self) -> None:
        self.runs: list[str] = []
        self.entered = threading.Semaphore(0)
        self.go = threading.Semaphore(0)

    def __call__(self, why: str) -> None:
        self.runs.append(why)
        self.entered.release()
        assert self.go.acquire(timeout=5), "the test never let the job finish"


def test_a_burst_while_the_job_runs_costs_exactly_one_more_run_with_the_latest_trigger():
    pool, job = Pool(), Held()
    coalesced = Coalesced(job, run_async=pool, name="t")
    coalesced.trigger("first")
    pool.start_all()
    assert job.entered.acquire(timeout=5)

    for n in range(10):
        coalesced.trigger(f"burst-{n}")
    assert pool.queued == []  # nothing more handed to the pool: the running job owes one more run
    job.go.release()
    assert job.entered.acquire(timeout=5)
    job.go.release()
    pool.join()

    assert job.runs == ["first", "burst-9"] and not coalesced.busy


def test_triggers_before_the_job_starts_are_answered_by_that_one_run():
    pool, job = Pool(), Held()
    coalesced = Coalesced(job, run_async=pool, name="t")
    for n in range(5):
        coalesced.trigger(f"t{n}")
    assert len(pool.queued) == 1
    job.go.release()
    pool.start_all()
    pool.join()

    assert job.runs == ["t4"] and coalesced.runs == 1


def test_a_trigger_after_a_run_ended_runs_it_again():
    pool, job = Pool(), Held()
    coalesced = Coalesced(job, run_async=pool, name="t")
    for why in ("one", "two"):
        coalesced.trigger(why)
        job.go.release()
        pool.start_all()
        pool.join()
        wait_for(lambda: not coalesced.busy, what="the run to end")

    assert job.runs == ["one", "two"]


def test_a_failing_run_is_logged_and_the_next_trigger_runs_again(caplog):
    pool, calls = Pool(), []

    def failing(why: str) -> None:
        calls.append(why)
        raise RuntimeError("SSM is down")

    coalesced = Coalesced(failing, run_async=pool, name="upstream-check")
    coalesced.trigger("a")
    pool.start_all()
    pool.join()
    coalesced.trigger("b")
    pool.start_all()
    pool.join()

    assert calls == ["a", "b"] and not coalesced.busy
    assert "coalesced.failed job=upstream-check" in caplog.text


def test_a_refused_schedule_raises_to_the_caller_and_leaves_it_idle():
    def closed(job: Callable[[], None]) -> None:
        raise ShuttingDown("The bot is shutting down")

    coalesced = Coalesced(Held(), run_async=closed, name="t")
    with pytest.raises(ShuttingDown):
        coalesced.trigger("late")  # the SQS consumer then leaves its message on the queue
    assert not coalesced.busy
