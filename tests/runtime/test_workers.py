"""The bake workers: jobs run off the caller's thread, are counted until done, and none is lost at shutdown."""

from __future__ import annotations

import threading

import pytest

from bot.domain.errors import ShuttingDown
from bot.runtime.foreground import Foreground
from bot.runtime.workers import BakeWorkers


@pytest.fixture
def workers():
    w = BakeWorkers(workers=2, foreground=Foreground(max_wait=0))
    yield w
    w.shutdown()


def test_a_job_is_counted_until_it_ends(workers):
    release = threading.Event()
    workers.submit(release.wait)
    assert workers.pending == 1
    release.set()
    workers.shutdown()
    assert workers.pending == 0


def test_a_failing_job_is_logged_and_still_uncounted(workers, caplog):
    def boom() -> None:
        raise RuntimeError("git exploded")

    workers.submit(boom)
    workers.shutdown()
    assert workers.pending == 0
    assert "worker.job_failed" in caplog.text and "git exploded" in caplog.text


def test_shutdown_runs_every_queued_job_before_it_returns(workers):
    done = []
    release = threading.Event()
    workers.submit(release.wait)
    for i in range(5):
        workers.submit(lambda i=i: done.append(i))
    release.set()
    workers.shutdown()
    assert sorted(done) == [0, 1, 2, 3, 4]


def test_a_job_after_shutdown_is_refused_loudly_and_not_counted(workers):
    workers.shutdown()
    with pytest.raises(ShuttingDown, match="shutting down"):
        workers.submit(lambda: None)
    assert workers.pending == 0
