"""A fast in-memory SQS endpoint speaking SQS's JSON 1.0 wire protocol, for benchmarks and the offline sandbox.

moto's SQS scans the whole queue on each receive and delete (~7 msg/s draining 2,000), too slow for the intake
benchmark. botocore 1.44 sends SQS only as JSON 1.0 (`POST /`, `X-Amz-Target: AmazonSQS.<Operation>`), so the
query protocol is not served. Receive and delete cost O(batch): visible messages are a deque, in-flight ones a
heap of expiries whose stale entries are skipped lazily, receipt handles a dict. Not modelled: FIFO queues,
delays, message attributes, retention; asking for them is an error rather than silently ignored.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import logging
import re
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.sandbox.local_server import LocalServer

log = logging.getLogger(__name__)

TARGET_PREFIX = "AmazonSQS."
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")  # queue names and batch entry ids alike
_RECEIPT_RE = re.compile(r"^[0-9a-f]{32}:[0-9a-f-]{36}$")
# botocore takes ClientError's Code from x-amzn-query-error, so callers keep seeing the query-protocol codes
# (and client.exceptions.<Shape> still matches); codes not listed are the same in both protocols.
_QUERY_CODES = {
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "QueueNameExists": "QueueAlreadyExists",
    "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
    "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    "TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    "InvalidBatchEntryId": "AWS.SimpleQueueService.InvalidBatchEntryId",
    "MessageNotInflight": "AWS.SimpleQueueService.MessageNotInflight",
    "UnsupportedOperation": "AWS.SimpleQueueService.UnsupportedOperation",
}
_PASSIVE_ATTRIBUTES = {"Policy", "MessageRetentionPeriod", "MaximumMessageSize", "SqsManagedSseEnabled"}
_MAX_VISIBILITY = 43_200
# Operations on one message, served by _<Operation>(queue, members); each also has an <Operation>Batch form.
_PER_MESSAGE = frozenset({"SendMessage", "DeleteMessage", "ChangeMessageVisibility"})


class SqsError(Exception):
    """An error answered as SQS does: HTTP 400, {"__type": ..., "message": ...} and x-amzn-query-error."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class _Message:
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


class _Queue:
    def __init__(self, name: str, url: str, arn: str, attributes: dict[str, str]):
        self.name, self.url, self.arn, self.attributes = name, url, arn, attributes
        self.created = str(int(time.time()))
        self.visibility_timeout = int(attributes.get("VisibilityTimeout", 30))
        policy = json.loads(attributes["RedrivePolicy"]) if "RedrivePolicy" in attributes else None
        # (deadLetterTargetArn, maxReceiveCount), parsed once rather than on every receive
        self.redrive = (policy["deadLetterTargetArn"], policy["maxReceiveCount"]) if policy else None
        self.messages: dict[str, _Message] = {}
        self.visible: deque[_Message] = deque()
        self.inflight: list[tuple[float, int, _Message, str]] = []  # (visible_at, tiebreak, message, receipt)
        self.receipts: dict[str, _Message] = {}

    def requeue_expired(self, now: float) -> None:
        while self.inflight and self.inflight[0][0] <= now:
            visible_at, _, message, receipt = heapq.heappop(self.inflight)
            # Deleted, made visible early or given a new timeout since this entry was pushed: nothing to do.
            if message.receipt == receipt and message.visible_at == visible_at:
                self.make_visible(message)

    def make_visible(self, message: _Message) -> None:
        del self.receipts[message.receipt]
        message.receipt = None
        self.visible.append(message)

    def clear(self) -> None:
        for collection in (self.messages, self.visible, self.inflight, self.receipts):
            collection.clear()


class FakeSqs(LocalServer):
    """The SQS calls the bakery and its benchmarks make, served from memory on `host`:`port` (0 picks one)."""

    _thread_name = "fake-sqs"
    _join_timeout = None

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, region: str = "eu-west-1", account: str = "123456789012"
    ):
        super().__init__()
        self.host, self.region, self.account = host, region, account
        self._port = port
        self._queues: dict[str, _Queue] = {}
        # One condition for all queues: a redrive touches two queues, and long polls wake on any send.
        self._cond = threading.Condition()
        self._tiebreak = itertools.count()
        self._closed = False

    def _bind(self) -> ThreadingHTTPServer:
        return _Server((self.host, self._port), _handler_for(self))

    def _bound(self, server: ThreadingHTTPServer) -> None:
        self._port = server.server_address[1]  # kept, so a restart serves the same endpoint
        self._closed = False

    def stop(self) -> None:
        with self._cond:
            self._closed = True  # long polls in progress answer now instead of holding their sockets open
            self._cond.notify_all()
        super().stop()

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self._port}"

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Runs one SQS operation on its JSON request members; raises SqsError as the service would answer."""
        with self._cond:
            if operation in _PER_MESSAGE:
                return getattr(self, f"_{operation}")(self._queue(params), params)
            if operation.endswith("Batch") and (single := operation.removesuffix("Batch")) in _PER_MESSAGE:
                return self._batch(self._queue(params), params, getattr(self, f"_{single}"))
            method = getattr(self, f"_op_{operation}", None)
            if method is None:
                raise SqsError("UnsupportedOperation", f"FakeSqs does not implement {operation}.")
            return method(params)

    # --- queues ----------------------------------------------------------------------------------

    def _queue(self, params: dict[str, Any]) -> _Queue:
        # Any host is accepted, so "localhost" and "127.0.0.1" URLs both work; account and name must match.
        account, _, name = str(_required(params, "QueueUrl")).rstrip("/").rpartition("/")
        queue = self._queues.get(name)
        if queue is None or not account.endswith(f"/{self.account}"):
            raise SqsError("QueueDoesNotExist", "The specified queue does not exist.")
        return queue

    def _by_arn(self, arn: str) -> _Queue | None:
        queue = self._queues.get(arn.rpartition(":")[2])
        return queue if queue is not None and queue.arn == arn else None

    def _op_CreateQueue(self, p: dict[str, Any]) -> dict[str, Any]:
        name = _required(p, "QueueName")
        if not _NAME_RE.match(name):
            raise SqsError("InvalidParameterValue", "Queue names have 1-80 alphanumerics, - or _ (no FIFO here).")
        attributes = {k: self._checked_attribute(k, v) for k, v in (p.get("Attributes") or {}).items()}
        queue = self._queues.get(name)
        if queue is None:
            url, arn = f"{self.endpoint}/{self.account}/{name}", f"arn:aws:sqs:{self.region}:{self.account}:{name}"
            queue = self._queues[name] = _Queue(name, url, arn, attributes)
        elif differing := [k for k, v in attributes.items() if queue.attributes.get(k) != v]:
            raise SqsError("QueueNameExists", f"A queue named {name} exists with another {differing[0]}.")
        return {"QueueUrl": queue.url}

    def _checked_attribute(self, name: str, value: str) -> str:
        if name == "VisibilityTimeout":
            return str(_bounded(name, value, 0, _MAX_VISIBILITY, "InvalidAttributeValue"))
        if name == "ReceiveMessageWaitTimeSeconds":
            return str(_bounded(name, value, 0, 20, "InvalidAttributeValue"))
        if name == "DelaySeconds":
            return str(_bounded(name, value, 0, 0, "InvalidAttributeValue"))  # delays are not modelled
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
        queue = self._queues.get(_required(p, "QueueName"))
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

    # --- messages ---------------------------------------------------------------------------------

    def _SendMessage(self, queue: _Queue, p: dict[str, Any]) -> dict[str, Any]:
        for unsupported in ("MessageAttributes", "MessageSystemAttributes", "MessageGroupId", "DelaySeconds"):
            if p.get(unsupported):
                raise SqsError("InvalidParameterValue", f"FakeSqs does not support {unsupported}.")
        message = _Message(_required(p, "MessageBody"))
        queue.messages[message.id] = message
        queue.visible.append(message)
        self._cond.notify_all()
        return {"MessageId": message.id, "MD5OfMessageBody": message.md5}

    def _op_ReceiveMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(p)
        count = _bounded("MaxNumberOfMessages", p.get("MaxNumberOfMessages", 1), 1, 10)
        default_wait = queue.attributes.get("ReceiveMessageWaitTimeSeconds", 0)
        wait = _bounded("WaitTimeSeconds", p.get("WaitTimeSeconds", default_wait), 0, 20)
        timeout = _bounded(
            "VisibilityTimeout", p.get("VisibilityTimeout", queue.visibility_timeout), 0, _MAX_VISIBILITY
        )
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
            self._cond.wait(min(deadline, next_expiry) - now)
        return {"Messages": [self._rendered(m, names) for m in messages]} if messages else {}

    def _take(self, queue: _Queue, count: int, timeout: int, now: float) -> list[_Message]:
        taken: list[_Message] = []
        dead_letter = self._by_arn(queue.redrive[0]) if queue.redrive else None
        while queue.visible and len(taken) < count:
            message = queue.visible.popleft()
            if dead_letter is not None and message.receive_count >= queue.redrive[1]:
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

    def _rendered(self, message: _Message, names: set[str]) -> dict[str, Any]:
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

    def _DeleteMessage(self, queue: _Queue, p: dict[str, Any]) -> dict[str, Any]:
        message = queue.receipts.pop(_receipt(p), None)
        # An older handle of a message received again, or of one already deleted, succeeds and does nothing,
        # as SQS documents; only a handle this server could never have issued is invalid.
        if message is not None:
            message.receipt = None
            del queue.messages[message.id]
        return {}

    def _ChangeMessageVisibility(self, queue: _Queue, p: dict[str, Any]) -> dict[str, Any]:
        message = queue.receipts.get(_receipt(p))
        timeout = _bounded("VisibilityTimeout", _required(p, "VisibilityTimeout"), 0, _MAX_VISIBILITY)
        if message is None:
            raise SqsError("MessageNotInflight", "The message is not in flight under this receipt handle.")
        if timeout == 0:
            queue.make_visible(message)
            self._cond.notify_all()
        else:
            message.visible_at = time.monotonic() + timeout
            heapq.heappush(queue.inflight, (message.visible_at, next(self._tiebreak), message, message.receipt))
        return {}

    def _batch(self, queue: _Queue, p: dict[str, Any], single: Callable[..., dict[str, Any]]) -> dict[str, Any]:
        entries = p.get("Entries") or []
        ids = [e.get("Id", "") for e in entries]
        if not entries:
            raise SqsError("EmptyBatchRequest", "There should be at least one batch request entry.")
        if len(entries) > 10:
            raise SqsError("TooManyEntriesInBatchRequest", f"At most 10 entries; {len(entries)} were sent.")
        if not all(isinstance(i, str) and _NAME_RE.match(i) for i in ids):
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid long-poll (a consumer shutting down) is normal, not an error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def _handler_for(sqs: FakeSqs) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: boto3 reuses connections, which is most of the speed
        disable_nagle_algorithm = True  # headers and body are two writes; Nagle would hold the body ~40 ms

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            target = self.headers.get("X-Amz-Target", "")
            headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": str(uuid.uuid4())}
            try:
                if not target.startswith(TARGET_PREFIX):
                    raise SqsError("UnsupportedOperation", "FakeSqs speaks only JSON 1.0 (X-Amz-Target: AmazonSQS.*).")
                params = json.loads(raw or b"{}")
                if not isinstance(params, dict):
                    raise SqsError("InvalidParameterValue", "The request body must be a JSON object.")
                status, result = 200, sqs.call(target.removeprefix(TARGET_PREFIX), params)
            except (SqsError, ValueError) as exc:
                err = exc if isinstance(exc, SqsError) else SqsError("InvalidParameterValue", f"Bad JSON: {exc}")
                status, result = 400, {"__type": f"com.amazonaws.sqs#{err.code}", "message": err.message}
                headers["x-amzn-query-error"] = f"{_QUERY_CODES.get(err.code, err.code)};Sender"
            except Exception as exc:
                log.exception("fake_sqs.internal_error target=%s", target)
                status, result = 500, {"__type": "com.amazonaws.sqs#InternalError", "message": repr(exc)}
            body = json.dumps(result).encode()
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("fake_sqs.http " + format, *args)

    return Handler


def _required(p: dict[str, Any], name: str) -> Any:
    value = p.get(name)
    if value is None or value == "":
        raise SqsError("MissingParameter", f"The request must contain the parameter {name}.")
    return value


def _receipt(p: dict[str, Any]) -> str:
    receipt = _required(p, "ReceiptHandle")
    if not isinstance(receipt, str) or not _RECEIPT_RE.match(receipt):
        raise SqsError("ReceiptHandleIsInvalid", f'The input receipt handle "{receipt}" is not a valid receipt handle.')
    return receipt


def _bounded(name: str, value: Any, low: int, high: int, code: str = "InvalidParameterValue") -> int:
    # Request members arrive as JSON numbers, queue attributes as strings; both must be whole numbers in range.
    try:
        number = int(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise SqsError(code, f"Value {value!r} for {name} is invalid: must be {low}..{high}.")
    return number
