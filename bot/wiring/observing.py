"""What `GET /metrics` reads (issue #14): the series, the record-state and lease collectors, the DLQ depth chore."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.aws.sqs import dlq_depth
from bot.bakes.record import BAKE
from bot.domain.ports import StateStore
from bot.observe.metrics import LeaseHolders, Metrics, RecordStates
from bot.rollouts.service import ROLLOUT
from bot.runtime.housekeeping import Chore
from bot.trains.record import TRAIN

log = logging.getLogger(__name__)

DLQ_EVERY = 60.0  # seconds between two reads of the dead-letter queue's depth


def _status(doc: dict[str, Any]) -> str:
    return str(doc.get("status") or "unknown")


def _train_state(doc: dict[str, Any]) -> str:
    return "finished" if doc.get("finished_at") else "running"


def watch_store(
    metrics: Metrics, store: StateStore, *, leases: Callable[[], Mapping[str, bool]] = lambda: {}
) -> Metrics:
    """The bakes, rollouts and trains by state (read at scrape time) and the leases this replica holds."""
    metrics.watch(
        RecordStates(store, {"bakes": (BAKE, _status), "rollouts": (ROLLOUT, _status), "trains": (TRAIN, _train_state)})
    )
    metrics.watch(LeaseHolders(leases))
    return metrics


def finished(metrics: Metrics, kind: str) -> Callable[[Any], None]:
    """Counts a record of `kind` ("bakes", "rollouts", "trains") whose message settled, by its final state."""

    def settled(record: Any) -> None:
        status = getattr(record, "status", None)
        metrics.finished[kind].labels(state=str(status) if status is not None else "finished").inc()

    return settled


def dlq_chores(
    metrics: Metrics, client_of: Callable[[str], Any], queue_url: str | None, every: float = DLQ_EVERY
) -> list[Chore]:
    """The chore that refreshes `bakery_dlq_messages` (never at scrape time: it calls SQS); none without a queue."""
    if not queue_url:
        return []
    client = client_of(queue_url)

    def refresh() -> None:
        try:
            found = dlq_depth(client, queue_url)
        except (ClientError, BotoCoreError, ValueError, KeyError) as exc:
            log.warning("metrics.dlq_unreadable queue=%s reason=%s", queue_url, exc)
            return
        if found is not None:
            name, depth = found
            metrics.dlq_messages.labels(queue=name).set(depth)

    return [Chore("dlq-depth", every, refresh)]
