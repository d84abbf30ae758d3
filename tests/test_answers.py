"""The answers pool (bot/runtime/answers.py): an answer rides on the acknowledgement or follows, never both."""

from __future__ import annotations

import threading
import time

import pytest

from bot.runtime.answers import Answers


@pytest.fixture
def answers():
    pool = Answers(budget=0.2, workers=4)
    yield pool
    pool.stop()


def wait_until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_quick_answer_rides_on_the_acknowledgement_and_is_not_given_again(answers):
    late: list[str] = []
    assert answers.within(lambda: "done", late.append) == "done"
    answers.stop()  # runs whatever the pool still holds
    assert late == []


def test_a_slow_answer_returns_within_the_budget_and_follows_once(answers):
    release = threading.Event()
    late: list[str] = []
    started = time.monotonic()
    assert answers.within(lambda: release.wait(5) and "done", late.append) is None
    assert time.monotonic() - started < 1.0
    assert answers.pending() == 2  # the work, and the answer owed
    release.set()
    wait_until(lambda: late == ["done"] and answers.pending() == 0)


# The edge test's own budget: what it probes is where `within` stops waiting, not how long that takes, so a
# shorter budget tries the same 40 finishes around the edge (in finer steps) in a quarter of the time.
EDGE_BUDGET = 0.05


def test_an_answer_ready_at_the_budgets_edge_is_given_exactly_once():
    answers = Answers(budget=EDGE_BUDGET, workers=4)
    given: list[str] = []
    lock = threading.Lock()

    def give(text: str) -> None:
        with lock:
            given.append(text)

    for n in range(40):

        def work(n: int = n) -> str:
            # Around the budget: some finish just before its end, some just after (steps of 1.25 ms).
            time.sleep(EDGE_BUDGET * 0.95 + (n % 5) * EDGE_BUDGET * 0.025)
            return f"answer {n}"

        now = answers.within(work, give)
        if now is not None:
            give(now)
    try:
        wait_until(lambda: answers.pending() == 0, timeout=20)
    finally:
        answers.stop()
    assert sorted(given) == sorted(f"answer {n}" for n in range(40))


def test_a_failure_inside_the_budget_is_raised_to_the_listener(answers):
    def broken() -> str:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        answers.within(broken, lambda _: None)
    wait_until(lambda: answers.pending() == 0)


def test_a_late_failure_is_logged_with_its_traceback(answers, caplog):
    release = threading.Event()

    def broken() -> str:
        release.wait(5)
        raise KeyError("bug")

    assert answers.within(broken, lambda _: None) is None
    release.set()
    wait_until(lambda: answers.pending() == 0)
    [record] = [r for r in caplog.records if r.getMessage() == "answer.failed"]
    assert record.exc_info is not None


def test_work_after_the_acknowledgement_runs_on_the_pool_not_the_listener(answers):
    ran_on: list[str] = []
    answers.later(lambda: ran_on.append(threading.current_thread().name))
    wait_until(lambda: answers.pending() == 0)
    assert ran_on and ran_on[0].startswith("answer") and ran_on[0] != threading.current_thread().name


def test_a_late_answer_finishing_while_the_pool_stops_is_still_given():
    answers = Answers(budget=0.05, workers=2)
    release, given = threading.Event(), []

    def slow() -> str:
        release.wait(5)
        return "done"

    assert answers.within(slow, given.append) is None  # late: it is owed
    stopper = threading.Thread(target=answers.stop)
    stopper.start()  # shutdown begins while the work still runs; it waits for it
    time.sleep(0.1)
    release.set()
    stopper.join(5)
    assert given == ["done"]
    assert answers.pending() == 0
