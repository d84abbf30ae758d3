"""Runs the bot's loops: recovery, the publishers, housekeeping and the SQS consumer; stops in order.

With several replicas on one store, each loop is partitioned or led (CONTRACT §15): the SQS consumer is
partitioned by SQS itself (every replica polls, each message goes to one); housekeeping, and the recovery of
what was left in flight, run only on the replica holding lease `housekeeping`, their writes fenced by it.
Recovery runs when a replica begins to lead and then every `recover_every` seconds, so a dead replica's work
is finished by a living one without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, Protocol

from bot.domain.fencing import FenceLost, current_fence, fenced
from bot.runtime.housekeeping import Chore, Housekeeping
from bot.runtime.leases import LeaseTimes
from bot.runtime.led import Leases, Led
from bot.services import Services

log = logging.getLogger(__name__)

HOUSEKEEPING = "housekeeping"  # the lease of the housekeeping loop and of recovery
PUBLISHER = "publisher"  # the lease of the three message publishers (bakes, rollouts, trains)


class Loop(Protocol):
    def run(self, stop: threading.Event) -> None: ...


class Runtime:
    def __init__(
        self,
        services: Services,
        *,
        housekeeping: Housekeeping,
        sqs: Loop | None = None,
        sqs_grace: float = 0.0,
        leases: LeaseTimes | None = None,
        led: Sequence[Led] = (),
    ):
        self._services = services
        self._housekeeping = housekeeping
        self._sqs = sqs
        # A long poll in progress ends by itself within its wait time; stopping waits for it, so the
        # messages it brings are handled (or handed back to the queue) before the store closes.
        self._sqs_grace = sqs_grace
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        times = leases or LeaseTimes()
        if times.problems():
            raise ValueError("; ".join(times.problems()))
        self._leases = Leases(services.store, times)
        self._led = [Led(HOUSEKEEPING, self._housekeeping_round), *led]
        for loop in self._led:
            self._leases.leadership(loop.lease_name)
        # One replica draws Slack messages at a time (CONTRACT §15); handed back only after the final flush.
        publishing = self._leases.leadership(PUBLISHER)
        for publisher in (services.publisher, services.rollout_publisher, services.train_publisher):
            publisher.lead_with(publishing)
        self._recovered: int | None = None  # the housekeeping token recovery last ran under
        housekeeping.add(Chore("recovery", times.recover_every, self._recover, delay=times.recover_every))

    @property
    def replica(self) -> str:
        return self._leases.holder

    def leads(self) -> dict[str, bool]:
        """Which loops' leases this replica holds now (lease name -> held)."""
        return self._leases.leads()

    def start(self) -> None:
        """Take the leases (at once when no other replica holds them), recover if leading, start the loops."""
        self._leases.start()
        try:
            self._recover_on_lead(self._leases.leadership(HOUSEKEEPING).fence())
        except FenceLost as exc:  # lost while recovering: the new leader recovers instead
            log.warning("runtime.recovery_fence_lost lease=%s token=%d", exc.fence.name, exc.fence.token)
            self._leases.leadership(HOUSEKEEPING).lost()
        for loop in self._led:
            self._spawn(loop.name, partial(self._lead, loop))
        s = self._services
        self._spawn("publisher", s.publisher.run)
        self._spawn("rollout-publisher", s.rollout_publisher.run)
        self._spawn("train-publisher", s.train_publisher.run)
        if self._sqs is not None:
            self._spawn("sqs-intake", self._sqs.run)

    def _recover_on_lead(self, fence: Any) -> None:
        """Recover once per leadership (each new token): at start when leading, or on taking over later."""
        if fence is None or fence.token == self._recovered:
            return
        with fenced(fence):
            self._recover()
        self._recovered = fence.token

    def _recover(self) -> None:
        """Finish what a previous run, or a replica that died, left in flight (each step skips settled work)."""
        s = self._services
        started = time.monotonic()
        s.bakes.recover()
        s.approvals.resume()
        s.rollouts.recover()
        s.publisher.recover()
        s.rollout_publisher.recover()
        s.workers.submit(s.release_flow.recover)  # off the loop: it may commit and call AWS
        s.train_publisher.recover()
        log.info("runtime.recovered replica=%s took=%.2fs", self.replica, time.monotonic() - started)

    def _lead(self, loop: Led, stop: threading.Event) -> None:
        self._leases.leadership(loop.lease_name).lead(stop, partial(loop.round, stop))

    def _housekeeping_round(self, stop: threading.Event) -> None:
        self._recover_on_lead(current_fence())
        self._housekeeping.round(stop)

    def _spawn(self, name: str, target: Callable[[threading.Event], None]) -> None:
        thread = threading.Thread(target=target, args=(self._stop,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout: float = 5.0, *, budget: float | None = None) -> int:
        """Stop taking work, let what was started finish, show it in Slack once, hand the leases back, close the store.

        The order matters: the loops are joined first, so nothing submits jobs to a closed pool and no loop
        publishes while the final flush does (two publishers on one new record would post it twice); then
        the workers drain, the last flush runs alone, and only then are the leases handed back: the jobs a
        led loop started write under its fence to the end. `budget` bounds the whole stop (`bakery serve`
        passes what is left of BAKERY_STOP_TIMEOUT); without one, the workers are waited for until they are
        done. Returns the number of bake jobs still unfinished (0 unless the budget ran out).
        """
        s = self._services
        deadline = None if budget is None else time.monotonic() + budget

        def left(most: float) -> float:
            return most if deadline is None else max(0.0, min(most, deadline - time.monotonic()))

        self._stop.set()
        log.info("runtime.stopping replica=%s", self.replica)
        s.publisher.wake()
        s.rollout_publisher.wake()
        s.train_publisher.wake()
        with _step("loops"):
            for thread in self._threads:
                allowed = left(max(timeout, self._sqs_grace) if thread.name == "sqs-intake" else timeout)
                thread.join(timeout=allowed)
                if thread.is_alive():
                    log.error("runtime.loop_did_not_stop loop=%s waited=%.1fs", thread.name, allowed)
        with _step("answers"):
            s.answers.stop()  # before the workers: an answer may still hand them a job
        with _step("workers"):
            unfinished = s.workers.shutdown(timeout=None if deadline is None else left(float("inf")))
            if unfinished:
                log.error("runtime.jobs_unfinished count=%d", unfinished)
        with _step("flush"):
            s.publisher.flush(timeout=left(timeout))
            s.rollout_publisher.flush(timeout=left(timeout))
            s.train_publisher.flush(timeout=left(timeout))
        with _step("leases"):
            self._leases.release(timeout=left(timeout))
        with _step("store"):
            s.store.close()
        return unfinished

    def health(self) -> dict[str, Any]:
        s = self._services
        loops = {t.name: t.is_alive() for t in self._threads}
        ok = all(loops.values()) and not self._stop.is_set()
        return {
            "status": "ok" if ok else "degraded",
            "replica": self.replica,
            "leads": self.leads(),
            "loops": loops,
            "sqs": "on" if self._sqs is not None else "off",
            "messages_pending": s.publisher.pending() + s.rollout_publisher.pending() + s.train_publisher.pending(),
            "bake_jobs_pending": s.workers.pending,
            "answers_pending": s.answers.pending(),
        }


@contextmanager
def _step(name: str) -> Iterator[None]:
    """One line per step of a stop, with how long it took."""
    started = time.monotonic()
    try:
        yield
    finally:
        log.info("runtime.stop step=%s took=%.2fs", name, time.monotonic() - started)
