"""The local CodeCommit served on 127.0.0.1 over CodeCommit's AWS JSON 1.1 protocol."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bot.sandbox.aws.fake_codecommit.repositories import CodeCommitRepositories
from bot.sandbox.aws.wire import JsonTargetHandler, account_of
from bot.sandbox.local_server import LocalServer


class FakeCodeCommit(CodeCommitRepositories, LocalServer):
    """The CodeCommit calls the bakery makes, served on 127.0.0.1 from bare repositories under root_dir.

    Those are its own account's; `in_account(other)` gives another account's (under root_dir/<account>), and a
    call acting in that account (by its access key, as moto tells, §13) sees only those. A caller from an account
    never asked for is served from the fake's own account's repositories, as one account's tests expect.
    """

    _thread_name = "fake-codecommit"
    _not_running = "FakeCodeCommit is not started"
    _join_timeout = 10.0

    def __init__(self, root_dir: Path, *, region: str = "eu-west-1", account_id: str = "123456789012"):
        LocalServer.__init__(self)
        CodeCommitRepositories.__init__(self, root_dir, region=region, account_id=account_id)
        self._accounts: dict[str, CodeCommitRepositories] = {}
        self._accounts_lock = threading.Lock()

    def in_account(self, account: str) -> CodeCommitRepositories:
        """The repositories of `account` (this fake itself for its own), made on first ask."""
        if account == self.account_id:
            return self
        with self._accounts_lock:
            if account not in self._accounts:
                self._accounts[account] = CodeCommitRepositories(
                    self.root_dir / account, region=self.region, account_id=account
                )
            return self._accounts[account]

    def serving(self, account: str | None) -> CodeCommitRepositories:
        """Whose repositories a call acting in `account` sees (see the class)."""
        with self._accounts_lock:
            return self._accounts.get(account or self.account_id, self)

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
        return self.api.serving(account_of(self.headers)).dispatch(operation, params)
