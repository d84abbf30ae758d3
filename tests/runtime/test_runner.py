"""The runtime stops in order: loops first, then the workers drain, then one last flush; nothing leaks."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from bot.runtime.answers import Answers
from bot.runtime.foreground import Foreground
from bot.runtime.housekeeping import Housekeeping
from bot.runtime.runner import Runtime
from bot.runtime.workers import BakeWorkers
from bot.state.sqlite import SqliteStore


class Store(SqliteStore):
    """A real store (the runtime takes its leases in it) that tells when it is closed."""

    def __init__(self, on_close) -> None:
        super().__init__(":memory:")
        self._on_close = on_close

    def close(self) -> None:
        self._on_close()
        super().close()


class QuietPublisher:
    def __init__(self) -> None:
        self.flushed_after: list[int] = []

    def recover(self) -> None: ...
    def lead_with(self, leader) -> None: ...
    def run(self, stop: threading.Event) -> None:
        stop.wait()

    def wake(self) -> None: ...
    def pending(self) -> int:
        return 0

    def flush(self, timeout: float) -> None:
        self.flushed_after.append(1)


class BusyConsumer:
    """Like the SQS consumer: hands work to the workers until told to stop, then finishes its batch."""

    def __init__(self, workers: BakeWorkers) -> None:
        self._workers = workers
        self.ran: list[int] = []
        self.errors: list[BaseException] = []

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.wait(0.001):
                self._workers.submit(lambda: self.ran.append(1))
            self._workers.submit(lambda: self.ran.append(1))  # the rest of the batch in hand at stop
        except BaseException as exc:  # noqa: BLE001 - recorded for the test to see
            self.errors.append(exc)


def test_stopping_lets_the_loops_finish_their_work_and_counts_every_job_done():
    workers = BakeWorkers(workers=2, foreground=Foreground(max_wait=0))
    publisher = QuietPublisher()
    closed = []
    services = SimpleNamespace(
        bakes=SimpleNamespace(recover=lambda: None),
        approvals=SimpleNamespace(resume=lambda: None),
        rollouts=SimpleNamespace(recover=lambda: None),
        release_flow=SimpleNamespace(recover=lambda: None),
        publisher=publisher,
        rollout_publisher=QuietPublisher(),
        train_publisher=QuietPublisher(),
        workers=workers,
        answers=Answers(workers=1),
        store=Store(lambda: closed.append(True)),
    )
    consumer = BusyConsumer(workers)
    runtime = Runtime(services, housekeeping=Housekeeping([], tick=0.01), sqs=consumer)  # type: ignore[arg-type]
    runtime.start()
    threading.Event().wait(0.1)
    runtime.stop()
    assert consumer.errors == []  # the consumer was never refused mid-batch
    assert workers.pending == 0
    assert len(consumer.ran) > 1
    assert publisher.flushed_after == [1]
    assert closed == [True]
    assert runtime.health()["status"] == "degraded"


class LongPollingConsumer:
    """Like the SQS consumer in a long poll: it notices the stop only when the receive returns."""

    def __init__(self, poll_seconds: float) -> None:
        self._poll_seconds = poll_seconds
        self.finished_at: float | None = None

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            threading.Event().wait(self._poll_seconds)  # the receive, deaf to the stop
        self.finished_at = time.monotonic()


def test_stopping_waits_for_a_long_poll_to_end_before_closing_the_store():
    workers = BakeWorkers(workers=1, foreground=Foreground(max_wait=0))
    closed_at: list[float] = []
    services = SimpleNamespace(
        bakes=SimpleNamespace(recover=lambda: None),
        approvals=SimpleNamespace(resume=lambda: None),
        rollouts=SimpleNamespace(recover=lambda: None),
        release_flow=SimpleNamespace(recover=lambda: None),
        publisher=QuietPublisher(),
        rollout_publisher=QuietPublisher(),
        train_publisher=QuietPublisher(),
        answers=Answers(),
        workers=workers,
        store=Store(lambda: closed_at.append(time.monotonic())),
    )
    consumer = LongPollingConsumer(poll_seconds=1.0)
    runtime = Runtime(
        services,  # type: ignore[arg-type]
        housekeeping=Housekeeping([], tick=0.01),
        sqs=consumer,
        sqs_grace=3.0,
    )
    runtime.start()
    threading.Event().wait(0.1)
    runtime.stop(timeout=0.2)  # shorter than the poll: the grace, not the timeout, decides
    assert consumer.finished_at is not None and closed_at and closed_at[0] >= consumer.finished_at
