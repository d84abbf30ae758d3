"""Recognising a message from an upstream topic (CONTRACT §8, §12) by its topic, before anything else reads it.

Amazon's AMI release topics publish bodies of their own; the bakery reads none of it. The body is only a
trigger (the SSM parameter is the truth), so it is never parsed as a pipeline event, and a body the intake
could not read is never a malformed message bound for the dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from bot.domain.errors import BadMessage
from bot.domain.models import MAX_BODY_BYTES
from bot.intake.fields import load_json


@dataclass(frozen=True)
class UpstreamMessage:
    topic_arn: str
    sns_type: str  # "Notification" triggers checks; a subscription message is only acknowledged
    message_id: str = ""

    @property
    def triggers(self) -> bool:
        return self.sns_type == "Notification"


def upstream_message(body: str | bytes, topics: Collection[str]) -> UpstreamMessage | None:
    """The SNS envelope's topic when it is one of `topics`; None for anything else (read as usual)."""
    if not topics:
        return None
    try:
        doc = load_json(body, limit=MAX_BODY_BYTES, what="The message body")
    except BadMessage:
        return None  # not an envelope at all: the ordinary reading says what is wrong with it
    if not isinstance(doc, dict):
        return None
    topic, sns_type = doc.get("TopicArn"), doc.get("Type")
    if not isinstance(topic, str) or topic not in topics or not isinstance(sns_type, str):
        return None
    message_id = doc.get("MessageId")
    return UpstreamMessage(topic, sns_type[:64], message_id[:100] if isinstance(message_id, str) else "")
