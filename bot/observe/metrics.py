"""The bot's Prometheus series (`GET /metrics`, CONTRACT §5), in a registry of its own per bot.

Not prometheus_client's global default registry: tests build many bots in one process, and each must count
only its own. Everything here is cheap to update from any thread; nothing calls AWS, Slack or git at scrape
time (the DLQ depth is refreshed by a housekeeping chore, the record states are one index read per kind).
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.domain.ports import StateStore

log = logging.getLogger(__name__)

# Slack allows 3 s for an acknowledgement; the bot aims well under one (README, "Benchmarks").
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
# From a pipeline's event to the bot reading it: seconds normally, minutes when the bot was down.
LAG_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
KINDS = ("bakes", "rollouts", "trains")
ACK_KINDS = ("command", "action", "view", "event")

StateOf = Callable[[dict[str, Any]], str]


class Metrics:
    """The series one bot reports; `exposition()` is the body of `GET /metrics`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.ack_seconds = Histogram(
            "bakery_ack_seconds",
            "Time from a Slack request's arrival to its acknowledgement leaving, by kind of request",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.intake_lag_seconds = Histogram(
            "bakery_intake_lag_seconds",
            "Time from a notification being sent (SQS SentTimestamp, or the SNS message's Timestamp) to its intake",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.dlq_messages = Gauge(
            "bakery_dlq_messages",
            "Messages in the notification queue's dead-letter queue (its ApproximateNumberOfMessages, read by a chore)",
            ["queue"],
            registry=r,
        )
        self.slack_errors = Counter(
            "bakery_slack_errors", "Slack Web API calls that failed, by method and Slack's error code",
            ["method", "code"], registry=r,
        )  # fmt: skip
        self.aws_errors = Counter(
            "bakery_aws_errors", "AWS API calls that failed after the SDK's retries, by service, operation and code",
            ["service", "operation", "code"], registry=r,
        )  # fmt: skip
        self.finished = {
            kind: Counter(
                f"bakery_{kind}_finished",
                f"{kind.capitalize()} this process saw reach the end (their message settled), by final state",
                ["state"],
                registry=r,
            )
            for kind in KINDS
        }
        # Every kind's series exists from the start, at zero; resolved once, off the ack path's few microseconds.
        self._acks = {kind: self.ack_seconds.labels(kind=kind) for kind in ACK_KINDS}

    def watch(self, collector: Collector) -> None:
        """Add a collector read at scrape time (record states, lease holders)."""
        self.registry.register(collector)

    def ack(self, kind: str, seconds: float) -> None:
        """One Slack request acknowledged after `seconds` (kind: command, action, view or event)."""
        child = self._acks.get(kind)
        (child or self.ack_seconds.labels(kind=kind)).observe(seconds)

    def slack_error(self, method: str, code: str | None) -> None:
        self.slack_errors.labels(method=method, code=code or "unknown").inc()

    def aws_error(self, service: str, operation: str, code: str | None) -> None:
        self.aws_errors.labels(service=service, operation=operation, code=code or "unknown").inc()

    def exposition(self) -> tuple[bytes, str]:
        """The Prometheus text format of every series, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class RecordStates(Collector):
    """`bakery_<kind>_active{state}`: the records in each kind's 'active' index, by state, read at scrape time.

    The 'active' index holds what is in flight and what has ended but whose message does not yet show it.
    """

    def __init__(self, store: StateStore, kinds: Mapping[str, tuple[str, StateOf]]):
        self._store = store
        self._kinds = kinds  # e.g. "bakes" -> (the store's kind, the state of one document)

    def describe(self) -> list[Metric]:
        return []  # nothing is read when the collector is registered

    def collect(self) -> Iterator[Metric]:
        for name, (kind, state_of) in self._kinds.items():
            family = GaugeMetricFamily(
                f"bakery_{name}_active", f"{name.capitalize()} in flight or not yet settled, by state", labels=["state"]
            )
            try:
                states = Tally(state_of(record.doc) for record in self._store.find(kind, "active"))
            except Exception:  # noqa: BLE001 - a scrape reports the rest; the traceback says why this one is missing
                log.exception("metrics.records_unreadable kind=%s", kind)
                continue
            for state, n in sorted(states.items()):
                family.add_metric([state], n)
            yield family


class LeaseHolders(Collector):
    """`bakery_lease_held{lease}`: 1 for each lease this replica holds now, 0 for each it does not."""

    def __init__(self, held: Callable[[], Mapping[str, bool]]):
        self._held = held

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("bakery_lease_held", "1 when this replica holds the lease now", labels=["lease"])
        for lease, held in sorted(self._held().items()):
            family.add_metric([lease], 1.0 if held else 0.0)
        yield family
