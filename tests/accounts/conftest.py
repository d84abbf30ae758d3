"""Two accounts in one moto server (moto's STS answers AssumeRole with credentials acting in the role's
account), and a local STS that refuses every AssumeRole as AWS does (403 AccessDenied)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.config import ImageConfig

MEMBER = "210987654321"
ROLE = f"arn:aws:iam::{MEMBER}:role/ami-bakery-bot"
REFUSAL = (
    '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    "<Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/ami-bakery/bot is not"
    f" authorized to perform: sts:AssumeRole on resource: {ROLE}</Message></Error>"
    "<RequestId>4f1c0e4e-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
)


def image(
    name: str = "web", *, role: str | None = ROLE, repository: str = "codecommit://ami-bakery-web"
) -> ImageConfig:
    return ImageConfig(
        name=name,
        repository=repository,
        branch="main",
        pipeline=f"ami-bakery-{name}",
        channel="C0BAKERY",
        region="eu-west-1",
        account_role=role,
    )


class _Refuse(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.calls += 1  # type: ignore[attr-defined]
        body = REFUSAL.encode()
        self.send_response(403)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing_sts(moto: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadingHTTPServer]:
    """STS, and only STS, answers AccessDenied; every other service stays moto."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refuse)
    server.calls = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{server.server_address[1]}")
    yield server
    server.shutdown()
    server.server_close()
