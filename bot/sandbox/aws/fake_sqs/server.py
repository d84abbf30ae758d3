"""The local SQS served on `host`:`port` over SQS's AWS JSON 1.0 protocol."""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.sandbox.aws.fake_sqs.messages import SqsMessages
from bot.sandbox.aws.wire import JSON_1_0, AwsFault, JsonTargetHandler
from bot.sandbox.local_server import LocalServer

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


class FakeSqs(SqsMessages, LocalServer):
    """The SQS calls the bakery and its benchmarks make, served from memory on `host`:`port` (0 picks one)."""

    _thread_name = "fake-sqs"
    _join_timeout = None

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, region: str = "eu-west-1", account: str = "123456789012"
    ):
        LocalServer.__init__(self)
        SqsMessages.__init__(self, host, port, region, account)

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


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid long-poll (a consumer shutting down) is normal, not an error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def _handler_for(sqs: FakeSqs) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonTargetHandler):
        target_prefix = "AmazonSQS."
        log_name = "fake_sqs"
        content_type = JSON_1_0
        # botocore 1.44 sends SQS only as JSON 1.0, so a request in the query protocol is an unsupported one.
        unknown_target_code = "UnsupportedOperation"
        malformed_body_code = "InvalidParameterValue"
        internal_error_code = "InternalError"
        error_type_prefix = "com.amazonaws.sqs#"

        def answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            return sqs.call(operation, params)

        def fault_headers(self, fault: AwsFault) -> dict[str, str]:
            if fault.status >= 500:
                return {}
            return {"x-amzn-query-error": f"{_QUERY_CODES.get(fault.code, fault.code)};Sender"}

    return Handler
