"""The local CodeCommit served on 127.0.0.1 over CodeCommit's AWS JSON 1.1 protocol."""

from __future__ import annotations

from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bot.sandbox.aws.fake_codecommit.repositories import CodeCommitRepositories
from bot.sandbox.aws.wire import JsonTargetHandler
from bot.sandbox.local_server import LocalServer


class FakeCodeCommit(CodeCommitRepositories, LocalServer):
    """The CodeCommit calls the bakery makes, served on 127.0.0.1 from bare repositories under root_dir."""

    _thread_name = "fake-codecommit"
    _not_running = "FakeCodeCommit is not started"
    _join_timeout = 10.0

    def __init__(self, root_dir: Path, *, region: str = "eu-west-1", account_id: str = "123456789012"):
        LocalServer.__init__(self)
        CodeCommitRepositories.__init__(self, root_dir, region=region, account_id=account_id)

    def _bind(self) -> ThreadingHTTPServer:
        self.root_dir.mkdir(parents=True, exist_ok=True)
        fake = self

        class Handler(_Handler):
            api = fake

        return ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def endpoint(self) -> str:
        return self._url()


class _Handler(JsonTargetHandler):
    target_prefix = "CodeCommit_20150413."
    log_name = "fake_codecommit"
    api: FakeCodeCommit

    def answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.api.dispatch(operation, params)
