"""HTTP mode: one WSGI application for Slack (/slack/events), SNS (/sns) and health, served by waitress."""

from __future__ import annotations

import io
import json
import logging
import math
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from waitress.server import create_server

from bot.wiring import Bot

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
StartResponse = Callable[..., Any]


def _json(start_response: StartResponse, status: int, doc: dict[str, Any]) -> Iterable[bytes]:
    body = json.dumps(doc).encode()
    reason = {
        200: "OK",
        400: "Bad Request",
        403: "Forbidden",
        404: "Not Found",
        405: "Method Not Allowed",
        413: "Payload Too Large",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }.get(status, "")
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def malformed_slack_body(body: bytes, content_type: str) -> str | None:
    """Why Bolt could not parse this body (it would fail with a 500), or None when it can."""
    return inspect_slack_body(body, content_type)[0]


def inspect_slack_body(body: bytes, content_type: str) -> tuple[str | None, str]:
    """(why Bolt could not parse this body, or None), and its kind for `bakery_ack_seconds`: command, action,
    view or event (the Events API's JSON)."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json"):
            doc = json.loads(text)
            return (None if isinstance(doc, dict) else "the JSON body is not an object"), "event"
        payload = urllib.parse.parse_qs(text).get("payload")
        if payload:
            doc = json.loads(payload[0])
            if not isinstance(doc, dict):
                return "the payload is not a JSON object", "action"
            return _malformed_interaction(doc), ack_kind(doc.get("type"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are both ValueErrors
        return "the body is not valid UTF-8 form data or JSON", "command"
    return None, "command"


def ack_kind(interaction_type: object) -> str:
    """An interaction payload's kind: a modal's submission or closing is a view, anything else a click."""
    return "view" if interaction_type in ("view_submission", "view_closed") else "action"


def _malformed_interaction(doc: dict[str, Any]) -> str | None:
    """Shapes Bolt's own routing indexes into before any listener runs (it would fail with a 500)."""
    kind = doc.get("type")
    if kind == "block_actions":
        actions = doc.get("actions")
        if not isinstance(actions, list) or not actions or not all(isinstance(a, dict) for a in actions):
            return "block_actions needs a list of action objects"
        if not all(isinstance(a.get("action_id"), str) for a in actions):
            return "every action needs an action_id"
    if kind in ("view_submission", "view_closed") and not isinstance(doc.get("view"), dict):
        return f"{kind} needs a view object"
    if kind in ("block_actions", "view_submission", "view_closed") and not isinstance(doc.get("user"), dict):
        return f"{kind} needs a user object"
    return None


class BakeryWsgi:
    """Routes requests; anything else is 404, and a wrong method 405."""

    def __init__(self, app: App, bot: Bot):
        self._slack = SlackRequestHandler(app)
        self._bot = bot
        self._signature = SignatureVerifier(bot.env.slack_signing_secret or "")
        self._draining = False
        self._in_flight = 0
        self._idle = threading.Condition()

    def drain(self, timeout: float) -> int:
        """Take no new Slack or SNS request (503: Slack and SNS retry, and reach another replica), and wait
        up to `timeout` seconds for those in flight to finish; returns how many still are."""
        with self._idle:
            self._draining = True
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)
            return self._in_flight

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        arrived = time.perf_counter()
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        routes = {"/slack/events": "POST", "/sns": "POST", "/healthz": "GET", "/metrics": "GET"}
        if path not in routes:
            return _json(start_response, 404, {"error": "no such route"})
        if method != routes[path]:
            return _json(start_response, 405, {"error": f"{path} takes {routes[path]}"})
        if path == "/healthz":
            health = self._bot.health()
            if self._draining:
                health["status"] = "stopping"
            return _json(start_response, 200 if health["status"] == "ok" else 503, health)
        if path == "/metrics":
            return metrics_response(self._bot, start_response)
        with self._idle:
            if self._draining:
                return _json(start_response, 503, {"error": "this replica is stopping; try again"})
            self._in_flight += 1
        try:
            return self._request(path, environ, start_response, arrived)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _request(
        self, path: str, environ: dict[str, Any], start_response: StartResponse, arrived: float
    ) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY:
            return _json(start_response, 413, {"error": "body too large"})
        body = environ["wsgi.input"].read(length) if length else b""
        if path == "/slack/events":
            problem, kind = inspect_slack_body(body, environ.get("CONTENT_TYPE", ""))
            if problem is None:
                environ["wsgi.input"] = io.BytesIO(body)
                # Bolt answers once the listener returned (process_before_response): this is the ack's time.
                response = self._slack(environ, start_response)
                self._bot.metrics.ack(kind, time.perf_counter() - arrived)
                return response
            # Say what is wrong only to a caller who signed it; to anyone else this is a forgery.
            signed = self._signature.is_valid(
                body=body,
                timestamp=environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""),
                signature=environ.get("HTTP_X_SLACK_SIGNATURE", ""),
            )
            log.warning("slack.malformed_request signed=%s problem=%s", signed, problem)
            return _json(start_response, 400 if signed else 401, {"error": problem if signed else "invalid request"})
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        status, doc = self._bot.sns.handle(headers, body)
        return _json(start_response, status, doc)


def metrics_response(bot: Bot, start_response: StartResponse) -> Iterable[bytes]:
    """`GET /metrics`: Prometheus' text exposition of the bot's own registry."""
    body, content_type = bot.metrics.exposition()
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


class HttpServer:
    """waitress in a background thread (tests) or the foreground (`bakery serve`)."""

    def __init__(
        self,
        wsgi: Callable[..., Any],
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        threads: int = 16,
        loop_timeout: float = 1.0,
    ):
        # One process with threads: the bot's loops (publisher, SQS intake) must run exactly once.
        self._server = create_server(
            wsgi,
            host=host,
            port=port,
            threads=threads,
            ident="ami-bakery",
            max_request_body_size=MAX_BODY,
            clear_untrusted_proxy_headers=True,
            # waitress keeps this setting as a whole number of seconds (0.05 would become 0, a busy loop),
            # so serve_forever passes the real timeout to each loop round itself.
            asyncore_loop_timeout=max(1, math.ceil(loop_timeout)),
        )
        self._loop_timeout = loop_timeout
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._closing = threading.Lock()  # stop() wakes the loop only while its trigger is open
        self._closed = False

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        return f"http://{self._server.effective_host}:{self.port}"

    def serve_forever(self) -> None:
        """Run waitress's loop until stop(); shutting down happens here, on the loop's own thread.

        Closing waitress's sockets from another thread while its select() runs fails with EBADF, so
        stop() only sets a flag and wakes the loop (waitress's trigger), which closes everything itself.
        """
        server = self._server
        try:
            while not self._stopping.is_set():
                server.asyncore.loop(
                    timeout=self._loop_timeout,
                    map=server._map,
                    use_poll=server.adj.asyncore_use_poll,
                    count=1,
                )
        finally:
            with self._closing:
                self._closed = True
            # Let running requests finish (and drop queued ones) before the sockets they write to close.
            server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
            server.close()
            for channel in list(server._map.values()):
                channel.close()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._closing:
            self._stopping.set()
            if not self._closed:
                # Wakes the loop now, not at its next timeout (1 s by default): Ctrl-C and SIGTERM end at once.
                self._server.pull_trigger()
        if self._thread is not None:
            self._thread.join(timeout=5)
