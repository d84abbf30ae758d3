"""The local SQS's messages: send, long-poll receive (with redrive), delete, change visibility, and their batches."""

from __future__ import annotations

import heapq
import time
import uuid
from collections.abc import Callable
from typing import Any

from bot.sandbox.aws.fake_sqs.fields import MAX_VISIBILITY, NAME_RE, SqsError, bounded, receipt, required
from bot.sandbox.aws.fake_sqs.queue import Message, Queue
from bot.sandbox.aws.fake_sqs.queues import SqsQueues

# Operations on one message, served by _<Operation>(queue, members); each also has an <Operation>Batch form.
PER_MESSAGE = frozenset({"SendMessage", "DeleteMessage", "ChangeMessageVisibility"})


class SqsMessages(SqsQueues):
    """Queues with their messages; `call` answers one SQS operation by its AWS name."""

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Runs one SQS operation on its JSON request members; raises SqsError as the service would answer."""
        with self._cond:
            if operation in PER_MESSAGE:
                per_message: Callable[[Queue, dict[str, Any]], dict[str, Any]] = getattr(self, f"_{operation}")
                return per_message(self._queue(params), params)
            if operation.endswith("Batch") and (single := operation.removesuffix("Batch")) in PER_MESSAGE:
                return self._batch(self._queue(params), params, getattr(self, f"_{single}"))
            method: Callable[[dict[str, Any]], dict[str, Any]] | None = getattr(self, f"_op_{operation}", None)
            if method is None:
                raise SqsError("UnsupportedOperation", f"FakeSqs does not implement {operation}.")
            return method(params)

    def _SendMessage(self, queue: Queue, p: dict[str, Any]) -> dict[str, Any]:
        for unsupported in ("MessageAttributes", "MessageSystemAttributes", "MessageGroupId", "DelaySeconds"):
            if p.get(unsupported):
                raise SqsError("InvalidParameterValue", f"FakeSqs does not support {unsupported}.")
        message = Message(required(p, "MessageBody"))
        queue.messages[message.id] = message
        queue.visible.append(message)
        self._cond.notify_all()
        return {"MessageId": message.id, "MD5OfMessageBody": message.md5}

    @property
    def long_polls(self) -> int:
        """How many ReceiveMessage calls are waiting for a message right now (tests wait on it)."""
        with self._cond:
            return self._long_polls

    def _op_ReceiveMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(p)
        count = bounded("MaxNumberOfMessages", p.get("MaxNumberOfMessages", 1), 1, 10)
        default_wait = queue.attributes.get("ReceiveMessageWaitTimeSeconds", 0)
        wait = bounded("WaitTimeSeconds", p.get("WaitTimeSeconds", default_wait), 0, 20)
        timeout = bounded("VisibilityTimeout", p.get("VisibilityTimeout", queue.visibility_timeout), 0, MAX_VISIBILITY)
        names = set(p.get("AttributeNames") or []) | set(p.get("MessageSystemAttributeNames") or [])
        deadline = time.monotonic() + wait
        while True:
            now = time.monotonic()
            queue.requeue_expired(now)
            messages = self._take(queue, count, timeout, now)
            if messages or now >= deadline or self._closed or self._queues.get(queue.name) is not queue:
                break
            # Wake for a send (notify) or for the next in-flight message coming back, whichever is first.
            next_expiry = queue.inflight[0][0] if queue.inflight else deadline
            self._long_polls += 1
            try:
                self._cond.wait(min(deadline, next_expiry) - now)
            finally:
                self._long_polls -= 1
        return {"Messages": [self._rendered(m, names) for m in messages]} if messages else {}

    def _take(self, queue: Queue, count: int, timeout: int, now: float) -> list[Message]:
        taken: list[Message] = []
        redrive = queue.redrive
        dead_letter = self._by_arn(redrive[0]) if redrive else None
        while queue.visible and len(taken) < count:
            message = queue.visible.popleft()
            if redrive and dead_letter is not None and message.receive_count >= redrive[1]:
                # As SQS does: the receive that would exceed maxReceiveCount moves the message instead. It keeps
                # its id and receive count ("received across all queues", in the API's words).
                del queue.messages[message.id]
                dead_letter.messages[message.id] = message
                dead_letter.visible.append(message)
                self._cond.notify_all()
                continue
            message.receive_count += 1
            message.first_receive_ms = message.first_receive_ms or int(time.time() * 1000)
            message.receipt = f"{uuid.uuid4().hex}:{message.id}"
            message.visible_at = now + timeout
            queue.receipts[message.receipt] = message
            heapq.heappush(queue.inflight, (message.visible_at, next(self._tiebreak), message, message.receipt))
            taken.append(message)
        return taken

    def _rendered(self, message: Message, names: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "MessageId": message.id,
            "ReceiptHandle": message.receipt,
            "MD5OfBody": message.md5,
            "Body": message.body,
        }
        if names:
            values = {
                "ApproximateReceiveCount": str(message.receive_count),
                "ApproximateFirstReceiveTimestamp": str(message.first_receive_ms),
                "SentTimestamp": str(message.sent_ms),
                "SenderId": self.account,
            }
            out["Attributes"] = {k: v for k, v in values.items() if k in names or "All" in names}
        return out

    def _DeleteMessage(self, queue: Queue, p: dict[str, Any]) -> dict[str, Any]:
        message = queue.receipts.pop(receipt(p), None)
        # An older handle of a message received again, or of one already deleted, succeeds and does nothing,
        # as SQS documents; only a handle this server could never have issued is invalid.
        if message is not None:
            message.receipt = None
            del queue.messages[message.id]
        return {}

    def _ChangeMessageVisibility(self, queue: Queue, p: dict[str, Any]) -> dict[str, Any]:
        message = queue.receipts.get(receipt(p))
        timeout = bounded("VisibilityTimeout", required(p, "VisibilityTimeout"), 0, MAX_VISIBILITY)
        if message is None:
            raise SqsError("MessageNotInflight", "The message is not in flight under this receipt handle.")
        if timeout == 0:
            queue.make_visible(message)
            self._cond.notify_all()
        else:
            # Found under its receipt handle, so it has one.
            assert message.receipt is not None, f"message {message.id} is in receipts without a receipt"
            message.visible_at = time.monotonic() + timeout
            heapq.heappush(queue.inflight, (message.visible_at, next(self._tiebreak), message, message.receipt))
        return {}

    def _batch(self, queue: Queue, p: dict[str, Any], single: Callable[..., dict[str, Any]]) -> dict[str, Any]:
        entries = p.get("Entries") or []
        ids = [e.get("Id", "") for e in entries]
        if not entries:
            raise SqsError("EmptyBatchRequest", "There should be at least one batch request entry.")
        if len(entries) > 10:
            raise SqsError("TooManyEntriesInBatchRequest", f"At most 10 entries; {len(entries)} were sent.")
        if not all(isinstance(i, str) and NAME_RE.match(i) for i in ids):
            raise SqsError("InvalidBatchEntryId", "Batch entry ids have 1-80 alphanumerics, - or _.")
        if len(set(ids)) != len(ids):
            raise SqsError("BatchEntryIdsNotDistinct", "Batch entry ids must be distinct.")
        successful, failed = [], []
        for entry in entries:
            try:
                successful.append({"Id": entry["Id"], **single(queue, entry)})
            except SqsError as err:
                failed.append({"Id": entry["Id"], "SenderFault": True, "Code": err.code, "Message": err.message})
        return {"Successful": successful, "Failed": failed}
