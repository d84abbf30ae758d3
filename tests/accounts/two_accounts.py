"""Two accounts behind one endpoint, as the bot sees AWS: a CodePipeline per account (each request answered by the
account its credentials act in, as moto's STS made them), an STS that can start refusing, and the configuration
lines that add a member image whose pipeline has the same name as one of the bakery's own."""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from moto.iam.models import get_account_id_from

from bot.sandbox.aws.fake_codepipeline import FakeCodePipeline
from bot.sandbox.aws.wire import AwsFault, JsonTargetHandler
from bot.sandbox.local_server import LocalServer
from tests.accounts.conftest import MEMBER, REFUSAL, ROLE

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


class AccountPipelines(LocalServer):
    """One CodePipeline endpoint over a model per account: a request signed with an account's credentials (moto
    knows which account an access key acts in) sees that account's pipelines only."""

    _thread_name = "account-pipelines"
    _not_running = "AccountPipelines is not started"

    def __init__(self, by_account: dict[str, FakeCodePipeline]):
        super().__init__()
        self.by_account = by_account
        self.seen: list[tuple[str, str]] = []  # (account, operation), every call

    def _bind(self) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Route)
        server.pipelines = self  # type: ignore[attr-defined]
        return server

    @property
    def endpoint(self) -> str:
        assert self._server is not None, self._not_running
        return f"http://127.0.0.1:{self._server.server_address[1]}"


class _Route(JsonTargetHandler):
    target_prefix = "CodePipeline_20150709."
    log_name = "account_pipelines"

    def answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        found = _CREDENTIAL.search(self.headers.get("Authorization", ""))
        account = get_account_id_from(found.group(1)) if found else ""
        router: AccountPipelines = self.server.pipelines  # type: ignore[attr-defined]
        router.seen.append((account, operation))
        fake = router.by_account.get(account)
        if fake is None:
            raise AwsFault("AccessDeniedException", f"account {account or '?'} has no pipelines here", 400)
        return fake.handle(operation, params)


class SwitchableSts:
    """STS for the bot: moto's answers, until `refuse` is set (then AccessDenied, as AWS says it); counts calls."""

    def __init__(self, moto: str):
        self.moto = moto
        self.refuse = False
        self.calls = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Sts)
        self._server.sts = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> SwitchableSts:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Sts(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        sts: SwitchableSts = self.server.sts  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        sts.calls += 1
        if sts.refuse:
            status, kind, answer = 403, "text/xml", REFUSAL.encode()
        else:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            request = urllib.request.Request(sts.moto + self.path, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - loopback moto
                    status, kind, answer = reply.status, reply.headers.get("Content-Type", "text/xml"), reply.read()
            except urllib.error.HTTPError as exc:
                status, kind, answer = exc.code, "text/xml", exc.read()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


def with_member_web(repo: Path) -> Callable[[str], str]:
    """The test configuration plus `shop`, an image in the member account whose pipeline is `ami-bakery-web` too."""

    def text(written: str) -> str:
        shop = (
            f"  shop:\n    repository: {repo}\n    pipeline: ami-bakery-web\n    region: eu-west-1\n"
            f"    account_role: {ROLE}\n"
        )
        return written.replace("images:\n", "images:\n" + shop, 1)

    return text


__all__ = ["MEMBER", "AccountPipelines", "SwitchableSts", "with_member_web"]
