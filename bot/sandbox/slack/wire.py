"""The Slack stand-in on the wire: Web API calls in (POST /api/<method>, form-encoded or JSON, a bearer token
or a form `token`), JSON answers out, and posts to the response_urls it issued (POST /responses/<key>).

What the calls mean is the stand-in's (api.py); this only decodes them as Slack decodes them.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox.slack.refusals import SlackRefusal

API_PREFIX = "/api/"
RESPONSE_PREFIX = "/responses/"
# Form-encoded clients send these as JSON strings; Slack decodes them before validating.
JSON_ARGS = ("blocks", "attachments", "view", "metadata")


Answer = tuple[int, dict[str, str], dict[str, Any]]  # HTTP status, extra headers, JSON body


class StandIn(Protocol):
    def answer(self, method: str, args: dict[str, Any], token: str | None) -> Answer: ...

    def respond(self, key: str, body: dict[str, Any]) -> bool: ...


def _parse_body(content_type: str, raw: bytes) -> dict[str, Any]:
    """The call's arguments, decoded as Slack decodes them; SlackRefusal when it cannot."""
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        try:
            body = json.loads(raw)
        except ValueError:
            raise SlackRefusal("invalid_json") from None
        if not isinstance(body, dict):
            raise SlackRefusal("invalid_json")
        return body
    if content_type.startswith("application/x-www-form-urlencoded") or not content_type:
        args: dict[str, Any] = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        for name in JSON_ARGS:
            if isinstance(args.get(name), str):
                try:
                    args[name] = json.loads(args[name])
                except ValueError:
                    pass  # left as a string: the method refuses it as Slack does (invalid_blocks_format)
        return args
    raise SlackRefusal("invalid_form_data")  # multipart (file uploads) is not emulated


def _bearer(header: str | None) -> str | None:
    if header and header.startswith("Bearer "):
        return header[len("Bearer ") :].strip()
    return None


def handler_for(stand_in: StandIn) -> type[BaseHTTPRequestHandler]:
    """The request handler class serving `stand_in` over HTTP."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._serve()

        def do_POST(self) -> None:  # noqa: N802
            self._serve()

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            if parts.path.startswith(RESPONSE_PREFIX) and self.command == "POST":
                self._respond(parts.path[len(RESPONSE_PREFIX) :])
                return
            if not parts.path.startswith(API_PREFIX):
                self._send(404, {}, {"ok": False, "error": "not_found"})
                return
            method = parts.path[len(API_PREFIX) :]
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            content_type = self.headers.get("Content-Type", "")
            try:
                args = dict(parse_qsl(parts.query, keep_blank_values=True))
                args.update(_parse_body(content_type, raw))
            except SlackRefusal as refusal:
                self._send(200, {}, {"ok": False, "error": refusal.error})
                return
            # Slack reads a token from the form body only; JSON bodies must use the header.
            token = _bearer(self.headers.get("Authorization"))
            if token is None and not content_type.startswith("application/json"):
                token = args.get("token")
            self._send(*stand_in.answer(method, args, token))

        def _respond(self, key: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                self._send(400, {}, {"ok": False, "error": "invalid_payload"})
            elif not stand_in.respond(key, body):
                self._send(404, {}, {"ok": False, "error": "expired_url"})
            else:
                self._send(200, {}, {"ok": True})

        def _send(self, status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # request lines would flood test output; calls() is the record

    return Handler
