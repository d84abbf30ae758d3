"""Runs the bot's loops: recovery at start, the publishers, housekeeping and the SQS consumer; stops in order."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from bot.runtime.housekeeping import Housekeeping
from bot.runtime.leases import Leadership
from bot.services import Services

log = logging.getLogger(__name__)

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
    ):
        self._services = services
        self._housekeeping = housekeeping
        self._sqs = sqs
        # A long poll in progress ends by itself within its wait time; stopping waits for it, so the
        # messages it brings are handled (or left on the queue) before the store closes.
        self._sqs_grace = sqs_grace
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # One replica draws Slack messages at a time (CONTRACT §15); handed back only after the final flush.
        self._publishing = Leadership(services.store, PUBLISHER)
        self._lease_stop = threading.Event()
        self._lease_thread: threading.Thread | None = None
        for publisher in (services.publisher, services.rollout_publisher, services.train_publisher):
            publisher.lead_with(self._publishing)

    def start(self) -> None:
        """Recover what a previous run left in flight, then start the loops."""
        s = self._services
        s.bakes.recover()
        s.approvals.resume()
        s.rollouts.recover()
        s.publisher.recover()
        s.rollout_publisher.recover()
        s.workers.submit(s.release_flow.recover)  # off the start: it may commit and call AWS
        s.train_publisher.recover()
        self._publishing.step()  # a lone replica leads from its first round: start-up waits for no renewal
        self._lease_thread = threading.Thread(
            target=self._publishing.run, args=(self._lease_stop,), name=f"lease-{PUBLISHER}", daemon=True
        )
        self._lease_thread.start()
        self._spawn("publisher", s.publisher.run)
        self._spawn("rollout-publisher", s.rollout_publisher.run)
        self._spawn("train-publisher", s.train_publisher.run)
        self._spawn("housekeeping", self._housekeeping.run)
        if self._sqs is not None:
            self._spawn("sqs-intake", self._sqs.run)

    def _spawn(self, name: str, target: Callable[[threading.Event], None]) -> None:
        thread = threading.Thread(target=target, args=(self._stop,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking work, let what was started finish, show it in Slack once, then close the store.

        The order matters: the loops are joined first, so nothing submits jobs to a closed pool and no loop
        publishes while the final flush does (two publishers on one new record would post it twice); then
        the workers drain, and the last flush runs alone.
        """
        s = self._services
        self._stop.set()
        s.publisher.wake()
        s.rollout_publisher.wake()
        s.train_publisher.wake()
        for thread in self._threads:
            allowed = max(timeout, self._sqs_grace) if thread.name == "sqs-intake" else timeout
            thread.join(timeout=allowed)
            if thread.is_alive():
                log.error("runtime.loop_did_not_stop loop=%s waited=%.1fs", thread.name, allowed)
        s.answers.stop()  # before the workers: an answer may still hand them a job
        s.workers.shutdown()
        s.publisher.flush(timeout=timeout)
        s.rollout_publisher.flush(timeout=timeout)
        s.train_publisher.flush(timeout=timeout)
        self._lease_stop.set()  # Leadership.run hands the lease back: another replica leads at once
        if self._lease_thread is not None:
            self._lease_thread.join(timeout=timeout)
        s.store.close()

    def health(self) -> dict[str, Any]:
        s = self._services
        loops = {t.name: t.is_alive() for t in self._threads}
        ok = all(loops.values()) and not self._stop.is_set()
        return {
            "status": "ok" if ok else "degraded",
            "loops": loops,
            "sqs": "on" if self._sqs is not None else "off",
            "messages_pending": s.publisher.pending() + s.rollout_publisher.pending() + s.train_publisher.pending(),
            "bake_jobs_pending": s.workers.pending,
            "answers_pending": s.answers.pending(),
        }
