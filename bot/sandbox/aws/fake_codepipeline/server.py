"""The local CodePipeline served on 127.0.0.1 over CodePipeline's AWS JSON 1.1 protocol."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import ThreadingHTTPServer
from typing import Any

from bot.sandbox.aws.fake_codepipeline.api import CodePipelineApi
from bot.sandbox.aws.fake_codepipeline.model import utc_now
from bot.sandbox.aws.wire import JsonTargetHandler, account_of
from bot.sandbox.local_server import LocalServer


class FakeCodePipeline(CodePipelineApi, LocalServer):
    """Pipelines, executions and approvals in memory (see PipelineModel), served on 127.0.0.1 once started.

    It is the pipelines of its own `account`; `in_account(other)` gives another account's, and a call acting in
    that account (by its access key, as moto tells, §13) sees only those. A caller from an account never asked
    for is served from the fake's own account's pipelines, as one account's tests expect.
    """

    _thread_name = "fake-codepipeline"
    _not_running = "FakeCodePipeline is not started"

    def __init__(
        self,
        *,
        region: str = "eu-west-1",
        account: str = "123456789012",
        clock: Callable[[], datetime] = utc_now,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        LocalServer.__init__(self)
        CodePipelineApi.__init__(self, region=region, account=account, clock=clock)
        self._address = (host, port)
        self._accounts: dict[str, CodePipelineApi] = {}

    def in_account(self, account: str) -> CodePipelineApi:
        """The pipelines of `account` (this fake itself for its own), made on first ask."""
        if account == self.account:
            return self
        with self._lock:
            if account not in self._accounts:
                self._accounts[account] = CodePipelineApi(region=self.region, account=account, clock=self._clock)
            return self._accounts[account]

    def serving(self, account: str | None) -> CodePipelineApi:
        """Whose pipelines a call acting in `account` sees (see the class)."""
        with self._lock:
            return self._accounts.get(account or self.account, self)

    def _bind(self) -> _Server:
        server = _Server(self._address, _Handler)
        server.fake = self
        return server

    def _close(self, server: ThreadingHTTPServer) -> None:
        super()._close(server)
        assert isinstance(server, _Server)
        server.close_connections()

    @property
    def endpoint(self) -> str:
        return self._url()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeCodePipeline

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    # Clients keep connections alive; tracking them lets stop() end them, so a stopped fake
    # answers nothing rather than serving stale state on an old connection.
    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the client closed it first


class _Handler(JsonTargetHandler):
    target_prefix = "CodePipeline_20150709."
    log_name = "fake_codepipeline"
    server: _Server

    def answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.server.fake.serving(account_of(self.headers)).handle(operation, params)
