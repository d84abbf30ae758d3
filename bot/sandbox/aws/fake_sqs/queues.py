"""The local SQS's queues: create, find, describe, list, purge and delete them, with the attributes it models."""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any

from bot.sandbox.aws.fake_sqs.fields import MAX_VISIBILITY, NAME_RE, SqsError, bounded, required
from bot.sandbox.aws.fake_sqs.queue import Queue

_PASSIVE_ATTRIBUTES = {"Policy", "MessageRetentionPeriod", "MaximumMessageSize", "SqsManagedSseEnabled"}


class SqsQueues:
    """Queues by name, under one condition; queue URLs are built on the endpoint `host`:`port`."""

    def __init__(self, host: str, port: int, region: str, account: str):
        self.host, self.region, self.account = host, region, account
        self._port = port
        self._queues: dict[str, Queue] = {}
        # One condition for all queues: a redrive touches two queues, and long polls wake on any send.
        self._cond = threading.Condition()
        self._tiebreak = itertools.count()
        self._closed = False
        self._long_polls = 0  # ReceiveMessage calls waiting for a message right now

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self._port}"

    def _queue(self, params: dict[str, Any]) -> Queue:
        # Any host is accepted, so "localhost" and "127.0.0.1" URLs both work; account and name must match.
        account, _, name = str(required(params, "QueueUrl")).rstrip("/").rpartition("/")
        queue = self._queues.get(name)
        if queue is None or not account.endswith(f"/{self.account}"):
            raise SqsError("QueueDoesNotExist", "The specified queue does not exist.")
        return queue

    def _by_arn(self, arn: str) -> Queue | None:
        queue = self._queues.get(arn.rpartition(":")[2])
        return queue if queue is not None and queue.arn == arn else None

    def _op_CreateQueue(self, p: dict[str, Any]) -> dict[str, Any]:
        name = required(p, "QueueName")
        if not NAME_RE.match(name):
            raise SqsError("InvalidParameterValue", "Queue names have 1-80 alphanumerics, - or _ (no FIFO here).")
        attributes = {k: self._checked_attribute(k, v) for k, v in (p.get("Attributes") or {}).items()}
        queue = self._queues.get(name)
        if queue is None:
            url, arn = f"{self.endpoint}/{self.account}/{name}", f"arn:aws:sqs:{self.region}:{self.account}:{name}"
            queue = self._queues[name] = Queue(name, url, arn, attributes)
        elif differing := [k for k, v in attributes.items() if queue.attributes.get(k) != v]:
            raise SqsError("QueueNameExists", f"A queue named {name} exists with another {differing[0]}.")
        return {"QueueUrl": queue.url}

    def _checked_attribute(self, name: str, value: str) -> str:
        if name == "VisibilityTimeout":
            return str(bounded(name, value, 0, MAX_VISIBILITY, "InvalidAttributeValue"))
        if name == "ReceiveMessageWaitTimeSeconds":
            return str(bounded(name, value, 0, 20, "InvalidAttributeValue"))
        if name == "DelaySeconds":
            return str(bounded(name, value, 0, 0, "InvalidAttributeValue"))  # delays are not modelled
        if name == "RedrivePolicy":
            try:
                policy = json.loads(value)
                arn, count = policy["deadLetterTargetArn"], int(policy["maxReceiveCount"])
            except (ValueError, KeyError, TypeError):
                raise SqsError("InvalidParameterValue", f"RedrivePolicy {value!r} is not a valid JSON map.") from None
            if not 1 <= count <= 1000 or self._by_arn(arn) is None:
                raise SqsError(
                    "InvalidParameterValue", f"RedrivePolicy {value!r}: no queue {arn} or count not 1..1000."
                )
            return json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": count}, separators=(",", ":"))
        if name in _PASSIVE_ATTRIBUTES:
            return value  # stored and echoed back, with no behaviour behind it
        raise SqsError("InvalidAttributeName", f"Unknown Attribute {name}.")

    def _op_GetQueueUrl(self, p: dict[str, Any]) -> dict[str, Any]:
        queue = self._queues.get(required(p, "QueueName"))
        if queue is None:
            raise SqsError("QueueDoesNotExist", "The specified queue does not exist.")
        return {"QueueUrl": queue.url}

    def _op_GetQueueAttributes(self, p: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(p)
        queue.requeue_expired(time.monotonic())
        available = {
            "DelaySeconds": "0",
            "ReceiveMessageWaitTimeSeconds": "0",
            **queue.attributes,
            "QueueArn": queue.arn,
            "ApproximateNumberOfMessages": str(len(queue.visible)),
            "ApproximateNumberOfMessagesNotVisible": str(len(queue.messages) - len(queue.visible)),
            "ApproximateNumberOfMessagesDelayed": "0",
            "VisibilityTimeout": str(queue.visibility_timeout),
            "CreatedTimestamp": queue.created,
        }
        names = p.get("AttributeNames") or []
        unknown = set(names) - available.keys() - _PASSIVE_ATTRIBUTES - {"All", "RedrivePolicy"}
        if unknown:
            raise SqsError("InvalidAttributeName", f"Unknown Attribute {sorted(unknown)[0]}.")
        attributes = {k: v for k, v in available.items() if k in names or "All" in names}
        return {"Attributes": attributes} if attributes else {}

    def _op_ListQueues(self, p: dict[str, Any]) -> dict[str, Any]:
        prefix = p.get("QueueNamePrefix", "")
        urls = [q.url for name, q in sorted(self._queues.items()) if name.startswith(prefix)]
        urls = urls[: p.get("MaxResults") or 1000]  # no NextToken paging: the sandbox has a handful of queues
        return {"QueueUrls": urls} if urls else {}

    def _op_DeleteQueue(self, p: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(p)
        del self._queues[queue.name]
        queue.clear()
        self._cond.notify_all()  # long polls on it end
        return {}

    def _op_PurgeQueue(self, p: dict[str, Any]) -> dict[str, Any]:
        self._queue(p).clear()
        return {}
