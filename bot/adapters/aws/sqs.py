"""Consume the notification queue: long-poll, hand each message over, delete only what was handled."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

logger = logging.getLogger(__name__)

# A failed message stays on the queue: it comes back after its visibility timeout and, after the redrive
# policy's maxReceiveCount, lands in the dead-letter queue, where an operator can see it.
MAX_BACKOFF = 60.0
IDLE_PAUSE = 1.0


@dataclass(frozen=True)
class PollResult:
    received: int
    handled: int
    failed: int
    not_deleted: int = 0  # handled, but the delete failed: they will come back (handling is idempotent)
    released: int = 0  # received as the bot stopped, not handled: made visible again at once for another replica


class SqsConsumer:
    """Reads `queue_url` with `client` (a boto3 SQS client) and calls `handle(body, message_id)` per message.

    `handle` raises when it could not handle the message; the message is then left for the redrive policy.
    """

    def __init__(
        self,
        client: Any,
        queue_url: str,
        handle: Callable[[str, str], object],
        *,
        wait_seconds: int = 20,
        max_messages: int = 10,
        log: logging.Logger = logger,
        backoff: float = 1.0,
        max_backoff: float = MAX_BACKOFF,
        idle_pause: float = IDLE_PAUSE,
        on_lag: Callable[[float], None] = lambda seconds: None,
        clock: Callable[[], float] = time.time,
    ):
        if not 0 <= wait_seconds <= 20:
            raise ValueError("wait_seconds must be 0..20 (SQS long polling)")
        if not 1 <= max_messages <= 10:
            raise ValueError("max_messages must be 1..10 (SQS ReceiveMessage)")
        self._client = client
        self._queue_url = queue_url
        self._handle = handle
        self._wait_seconds = wait_seconds
        self._max_messages = max_messages
        self._log = log
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._idle_pause = idle_pause
        self._on_lag = on_lag  # seconds from each message's SentTimestamp to its receipt (intake lag)
        self._clock = clock

    def poll_once(self, stop: threading.Event | None = None) -> PollResult:
        """Receive one batch (waiting up to wait_seconds), handle it, delete what was handled.

        Once `stop` is set (the bot is stopping), the messages of the batch not yet handled are handed back
        to the queue (visibility 0), so another replica takes them now rather than after the visibility
        timeout. Raises ClientError/BotoCoreError when the receive itself fails.
        """
        response = self._client.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=self._max_messages,
            WaitTimeSeconds=self._wait_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
        )
        messages = response.get("Messages") or []
        now = self._clock()
        for message in messages:
            sent = (message.get("Attributes") or {}).get("SentTimestamp", "")
            if sent.isdigit():  # epoch milliseconds
                self._on_lag(max(0.0, now - int(sent) / 1000))
        done: list[dict[str, Any]] = []
        left: list[dict[str, Any]] = []
        for i, message in enumerate(messages):
            if stop is not None and stop.is_set():
                left = messages[i:]
                break
            if self._handle_one(message):
                done.append(message)
        return PollResult(
            received=len(messages),
            handled=len(done),
            failed=len(messages) - len(done) - len(left),
            not_deleted=self._delete(done) if done else 0,
            released=self.release(left) if left else 0,
        )

    def run(self, stop: threading.Event) -> None:
        """poll_once until `stop` is set; AWS errors back off (doubling, at most max_backoff seconds)."""
        delay = self._backoff
        while not stop.is_set():
            try:
                result = self.poll_once(stop)
            except (ClientError, BotoCoreError):
                self._log.exception("sqs.receive_failed queue=%s retry_in=%.1fs", self._queue_url, delay)
                stop.wait(delay)
                delay = min(delay * 2, self._max_backoff)
                continue
            delay = self._backoff
            if result.received == 0 and self._wait_seconds == 0:
                # Short polling returns at once: without this pause an empty queue is polled in a tight loop.
                stop.wait(self._idle_pause)

    def release(self, messages: list[dict[str, Any]]) -> int:
        """Make received messages visible again at once (ChangeMessageVisibilityBatch to 0); how many were."""
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(messages)
        ]
        ids = ",".join(m.get("MessageId", "") for m in messages)
        try:
            response = self._client.change_message_visibility_batch(QueueUrl=self._queue_url, Entries=entries)
        except (ClientError, BotoCoreError):  # they come back after their visibility timeout instead
            self._log.exception("sqs.release_failed message_ids=%s queue=%s", ids, self._queue_url)
            return 0
        released = len(messages) - len(response.get("Failed") or [])
        self._log.info("sqs.released count=%d message_ids=%s queue=%s", released, ids, self._queue_url)
        return released

    def _handle_one(self, message: dict[str, Any]) -> bool:
        message_id = message.get("MessageId", "")
        try:
            self._handle(message.get("Body", ""), message_id)
        except Exception:  # noqa: BLE001 - logged with its traceback; the message stays for the redrive policy
            receive_count = (message.get("Attributes") or {}).get("ApproximateReceiveCount", "?")
            self._log.exception(
                "sqs.message_failed message_id=%s receive_count=%s queue=%s",
                message_id,
                receive_count,
                self._queue_url,
            )
            return False
        self._log.debug("sqs.message_handled message_id=%s", message_id)
        return True

    def _delete(self, messages: list[dict[str, Any]]) -> int:
        # Batch entry ids are our own indexes: they map a Failed entry back to its message id.
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        try:
            response = self._client.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)
        except (ClientError, BotoCoreError):
            ids = ",".join(m.get("MessageId", "") for m in messages)
            self._log.exception("sqs.delete_failed message_ids=%s queue=%s", ids, self._queue_url)
            return len(messages)
        failed = response.get("Failed") or []
        for entry in failed:
            message = messages[int(entry["Id"])]
            self._log.error(
                "sqs.delete_failed message_id=%s code=%s sender_fault=%s queue=%s",
                message.get("MessageId", ""),
                entry.get("Code"),
                entry.get("SenderFault"),
                self._queue_url,
            )
        return len(failed)


def dlq_depth(client: Any, queue_url: str) -> tuple[str, int] | None:
    """The queue's dead-letter queue (its RedrivePolicy's deadLetterTargetArn) by name, and how many messages it
    holds (ApproximateNumberOfMessages); None when the queue has no redrive policy. Raises what boto3 raises."""
    answer = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
    policy = (answer.get("Attributes") or {}).get("RedrivePolicy")  # no Attributes at all when none is set
    if not policy:
        return None
    arn = str(json.loads(policy)["deadLetterTargetArn"])  # arn:aws:sqs:<region>:<account>:<name>
    *_, account, name = arn.split(":")
    dlq_url = client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    counts = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
    return name, int(counts["Attributes"]["ApproximateNumberOfMessages"])


def region_of_queue(url: str) -> str | None:
    match = re.match(r"^https?://sqs[.-]([a-z0-9-]+)\.amazonaws\.com", url)
    return match.group(1) if match else None
