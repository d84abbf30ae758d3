"""The runtime stops in order: loops first, then the workers drain, then one last flush; nothing leaks."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from bot.runtime.answers import Answers
from bot.runtime.foreground import Foreground
from bot.runtime.housekeeping import Housekeeping
from bot.runtime.runner import Runtime
from bot.runtime.workers import BakeWorkers


class QuietPublisher:
    def __init__(self) -> None:
        self.flushed_after: list[int] = []

    def recover(self) -> None: ...
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
        publisher=publisher,
        rollout_publisher=QuietPublisher(),
        workers=workers,
        answers=Answers(workers=1),
        store=SimpleNamespace(close=lambda: closed.append(True)),
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
