"""Pipeline notifications in: parse once at the edge, drop duplicates, hand each record to the bake service."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from typing import Any

from bot.errors import ForgedMessage
from bot.models import Notification
from bot.notifications import parse_body

log = logging.getLogger(__name__)

SEEN = "sns-message"


class Intake:
    """Turns one delivered body (SQS or the /sns route) into applied notifications.

    Raises on anything it could not handle, so the SQS consumer leaves the message for a retry and,
    failing again, for the dead-letter queue; BadMessage for bodies that will never parse.
    """

    def __init__(self, *, store: Any, apply: Callable[[Notification], None], topic_arns: Collection[str] = ()):
        self._store = store
        self._apply = apply
        self._topic_arns = frozenset(topic_arns)

    def handle(self, body: str, message_id: str = "") -> int:
        """Apply a body's records; returns how many were applied (0 for duplicates and skipped shapes)."""
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
            self._store.create(SEEN, envelope.message_id, {"topic": envelope.topic_arn})
        return len(parsed.items)
