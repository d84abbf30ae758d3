"""One in-memory queue: visible messages a deque, in-flight ones a heap of expiries, receipt handles a dict."""

from __future__ import annotations

import hashlib
import heapq
import json
import time
import uuid
from collections import deque


class Message:
    __slots__ = ("id", "body", "md5", "sent_ms", "first_receive_ms", "receive_count", "receipt", "visible_at")

    def __init__(self, body: str):
        self.id = str(uuid.uuid4())
        self.body = body
        self.md5 = hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest()
        self.sent_ms = int(time.time() * 1000)
        self.first_receive_ms = 0
        self.receive_count = 0
        self.receipt: str | None = None  # set while in flight; only the latest receipt handle acts on it
        self.visible_at = 0.0


class Queue:
    def __init__(self, name: str, url: str, arn: str, attributes: dict[str, str]):
        self.name, self.url, self.arn, self.attributes = name, url, arn, attributes
        self.created = str(int(time.time()))
        self.visibility_timeout = int(attributes.get("VisibilityTimeout", 30))
        policy = json.loads(attributes["RedrivePolicy"]) if "RedrivePolicy" in attributes else None
        # (deadLetterTargetArn, maxReceiveCount), parsed once rather than on every receive
        self.redrive = (policy["deadLetterTargetArn"], policy["maxReceiveCount"]) if policy else None
        self.messages: dict[str, Message] = {}
        self.visible: deque[Message] = deque()
        self.inflight: list[tuple[float, int, Message, str]] = []  # (visible_at, tiebreak, message, receipt)
        self.receipts: dict[str, Message] = {}

    def requeue_expired(self, now: float) -> None:
        while self.inflight and self.inflight[0][0] <= now:
            visible_at, _, message, receipt = heapq.heappop(self.inflight)
            # Deleted, made visible early or given a new timeout since this entry was pushed: nothing to do.
            if message.receipt == receipt and message.visible_at == visible_at:
                self.make_visible(message)

    def make_visible(self, message: Message) -> None:
        # Only an in-flight message is made visible, and an in-flight message has its receipt.
        assert message.receipt is not None, f"message {message.id} is not in flight"
        del self.receipts[message.receipt]
        message.receipt = None
        self.visible.append(message)

    def clear(self) -> None:
        for collection in (self.messages, self.visible, self.inflight, self.receipts):
            collection.clear()
