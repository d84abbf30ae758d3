"""On stop the HTTP side takes no new work: new Slack and SNS requests get 503 while those in flight finish."""

from __future__ import annotations

import io
import json
import threading
from types import SimpleNamespace
from typing import Any

from slack_bolt import App

from bot.server import BakeryWsgi
from tests.fixtures.waiting import wait_for


def call(wsgi: BakeryWsgi, method: str, path: str, body: bytes = b"") -> tuple[str, dict[str, Any]]:
    said: list[str] = []
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(body),
    }
    out = b"".join(wsgi(environ, lambda status, headers: said.append(status)))
    return said[0], json.loads(out)


def test_draining_refuses_new_requests_and_waits_for_the_one_in_flight():
    entered, finish = threading.Event(), threading.Event()

    def slow_sns(headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        entered.set()
        finish.wait(10)
        return 200, {"ok": True}

    bot = SimpleNamespace(
        env=SimpleNamespace(slack_signing_secret="secret"),
        health=lambda: {"status": "ok", "leads": {"housekeeping": True}},
        sns=SimpleNamespace(handle=slow_sns),
    )
    app = App(token="xoxb-test", signing_secret="secret", token_verification_enabled=False)
    wsgi = BakeryWsgi(app, bot)  # type: ignore[arg-type]
    in_flight: list[tuple[str, dict[str, Any]]] = []
    worker = threading.Thread(target=lambda: in_flight.append(call(wsgi, "POST", "/sns", b"{}")))
    worker.start()
    assert entered.wait(10)
    left: list[int] = []
    drainer = threading.Thread(target=lambda: left.append(wsgi.drain(timeout=10)))
    drainer.start()

    wait_for(lambda: call(wsgi, "GET", "/healthz")[0].startswith("503"), what="health to say stopping")
    status, doc = call(wsgi, "GET", "/healthz")
    assert doc["status"] == "stopping" and doc["leads"] == {"housekeeping": True}
    assert call(wsgi, "POST", "/slack/events", b"{}")[0].startswith("503")
    assert call(wsgi, "POST", "/sns", b"{}")[0].startswith("503")
    assert drainer.is_alive()  # still waiting for the request in flight

    finish.set()
    drainer.join(10)
    worker.join(10)
    assert left == [0] and in_flight == [("200 OK", {"ok": True})]
