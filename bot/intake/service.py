"""Pipeline notifications in: parse once at the edge, drop duplicates, hand each record to the bake service."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.domain.errors import ForgedMessage
from bot.domain.models import Notification
from bot.intake.parse import parse_body
from bot.intake.upstream import upstream_message

log = logging.getLogger(__name__)

SEEN = "sns-message"
# How long SNS message ids are remembered. Duplicates older than this still change nothing (the reducer
# ignores stale and repeated events); the memory only spares that work, so it need not grow forever.
KEEP_DAYS = 3
SWEEP_DAYS = 30  # how far back a sweep looks for days to forget


def _today() -> date:
    return datetime.now(UTC).date()


class Intake:
    """Turns one delivered body (SQS or the /sns route) into applied notifications.

    Raises on anything it could not handle, so the SQS consumer leaves the message for a retry and,
    failing again, for the dead-letter queue; BadMessage for bodies that will never parse.
    """

    def __init__(
        self,
        *,
        store: Any,
        apply: Callable[[Notification], None],
        topic_arns: Collection[str] = (),
        upstream_topic_arns: Collection[str] = (),
        on_upstream: Callable[[str], object] = lambda topic_arn: None,
        today: Callable[[], date] = _today,
    ):
        self._store = store
        self._apply = apply
        self._topic_arns = frozenset(topic_arns)
        self._upstream_topic_arns = frozenset(upstream_topic_arns)
        self._on_upstream = on_upstream
        self._today = today

    def handle(self, body: str, message_id: str = "") -> int:
        """Apply a body's records; returns how many were applied (0 for duplicates and skipped shapes)."""
        # An upstream topic's message is recognised by its topic first, whatever its body: only a trigger.
        upstream = upstream_message(body, self._upstream_topic_arns)
        if upstream is not None:
            log.info(
                "intake.upstream topic=%s type=%s sns_message_id=%s",
                upstream.topic_arn,
                upstream.sns_type,
                upstream.message_id or message_id,
            )
            if upstream.triggers:
                # Only schedules the check (it runs on a worker): the message is done with once the check is
                # scheduled, so it is deleted then. That is safe because it is only a trigger: if the check
                # fails or the bot stops before it runs, the `check_every` chore looks again anyway.
                self._on_upstream(upstream.topic_arn)
            return 0
        parsed = parse_body(body)
        envelope = parsed.envelope
        if envelope is not None:
            if self._topic_arns and envelope.topic_arn not in self._topic_arns:
                raise ForgedMessage(f"topic {envelope.topic_arn} is not in notifications.sns_topic_arns")
            if self._store.get(SEEN, envelope.message_id):
                log.info("intake.duplicate sns_message_id=%s", envelope.message_id)
                return 0
        if not parsed.items:
            log.info("intake.skipped message_id=%s reason=%s", message_id, parsed.ignored or "nothing to apply")
        for item in parsed.items:
            self._apply(item)
        if envelope is not None:
            # Recorded after applying: a crash in between replays the message, which the reducer absorbs.
            day = self._today().isoformat()
            self._store.create(SEEN, envelope.message_id, {"topic": envelope.topic_arn, "day": day}, index=f"d:{day}")
        return len(parsed.items)

    def forget_old_messages(self) -> int:
        """Drop remembered SNS message ids older than KEEP_DAYS (indexed by day); returns how many."""
        today = self._today()
        forgotten = 0
        for back in range(KEEP_DAYS + 1, SWEEP_DAYS + 1):
            day = (today - timedelta(days=back)).isoformat()
            for rec in self._store.find(SEEN, f"d:{day}"):
                forgotten += bool(self._store.delete(SEEN, rec.key))
        if forgotten:
            log.info("intake.forgot sns_message_ids=%d", forgotten)
        return forgotten
