"""The Slack stand-in page and its JSON API (CONTRACT §9), served on the sandbox's port.

The page (`static/index.html`) shows the channel as the bot's Web API calls left it; commands, clicks and
modal submissions go to the bot as signed Slack requests (`slack_requests.py`), and what Slack itself would
show in answer (a command's ephemeral reply, `response_url` posts) is added to the Slack stand-in.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.sandbox.local_server import LocalServer
from bot.sandbox.slack.api import SlackApiStandIn
from bot.sandbox.slack.refusals import SlackRefusal
from bot.sandbox.slack.requests import Reply, SlackRequests

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
MAX_BODY = 256 * 1024


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class SandboxUser:
    id: str
    name: str
    title: str


class SandboxPage(LocalServer):
    """Serves the page, the JSON API, response_url posts and the sandbox's views (logs, executions, commits)."""

    _thread_name = "sandbox-page"
    _not_running = "the sandbox page is not running"

    def __init__(
        self,
        *,
        slack: SlackApiStandIn,
        users: list[SandboxUser],
        roles: Callable[[str], list[str]],
        channel: str,
        info: Callable[[], dict[str, Any]],
        views: Callable[[str], tuple[int, str, bytes] | None],
        upstream: Callable[[dict[str, Any]], tuple[int, Any]] | None = None,  # POST /api/upstream (§9)
        host: str = "127.0.0.1",
        port: int = 8080,
    ):
        super().__init__()
        self.slack, self.users, self._roles, self.channel = slack, users, roles, channel
        self._info, self._views = info, views
        self.upstream_release = upstream or (lambda body: (404, {"error": "this sandbox has no upstream"}))
        self._address = (host, port)
        self.requests: SlackRequests | None = None  # set once the bot's URL is known
        self._closed_views: set[str] = set()
        self._lock = threading.Lock()

    def _bind(self) -> ThreadingHTTPServer:
        return ThreadingHTTPServer(self._address, _handler_for(self))

    @property
    def url(self) -> str:
        return self._url()

    # --- the JSON API ----------------------------------------------------------------------------

    def _user(self, body: dict[str, Any]) -> str:
        user = body.get("user")
        if user not in {u.id for u in self.users}:
            raise ApiError(400, f"unknown user {user!r}; GET /api/users lists them")
        return str(user)  # one of the users' ids

    def _bot(self) -> SlackRequests:
        if self.requests is None:
            raise ApiError(503, "the bot is not running yet")
        return self.requests

    def get_users(self) -> list[dict[str, Any]]:
        return [{"id": u.id, "name": u.name, "title": u.title, "roles": self._roles(u.id)} for u in self.users]

    def command(self, body: dict[str, Any]) -> tuple[int, Any]:
        user = self._user(body)
        command = str(body.get("command") or "/bake")
        text = str(body.get("text") or "")
        channel = str(body.get("channel") or self.channel)
        reply = self._bot().command(user=user, channel=channel, command=command, text=text)
        if reply.status != 200:
            return 502, {"error": f"the bot answered HTTP {reply.status}", "status": reply.status, "body": reply.body}
        self._show_answer(reply, channel=channel, user=user)
        return 200, reply.body if reply.body is not None else {}

    def message(self, body: dict[str, Any]) -> tuple[int, Any]:
        """A person's message in the channel (text typed without a slash), delivered to the bot as an event."""
        user, text = self._user(body), str(body.get("text") or "")
        channel, thread_ts = str(body.get("channel") or self.channel), str(body.get("thread_ts") or "")
        try:
            ts = self.slack.add_user_message(channel, user, text, thread_ts)
        except SlackRefusal as refusal:
            raise ApiError(400, f"Slack would refuse that message: {refusal.error}") from None
        reply = self._bot().message(user=user, channel=channel, text=text, ts=ts, thread_ts=thread_ts)
        if reply.status != 200:
            return 502, {"error": f"the bot answered HTTP {reply.status}", "status": reply.status, "body": reply.body}
        return 200, {"ok": True, "ts": ts}

    def _show_answer(self, reply: Reply, *, channel: str, user: str) -> None:
        """What Slack shows for a command's HTTP answer: nothing, an ephemeral reply, or a channel post."""
        if isinstance(reply.body, str) and reply.body:
            self.slack.add_ephemeral(channel, user, reply.body)
        elif isinstance(reply.body, dict) and (reply.body.get("text") or reply.body.get("blocks")):
            self.respond(channel, user, "", reply.body)

    def click(self, body: dict[str, Any]) -> tuple[int, Any]:
        user = self._user(body)
        ts, action_id = str(body.get("ts") or ""), str(body.get("action_id") or "")
        message = next((m for m in self.slack.messages() if m["ts"] == ts), None)
        if message is None:
            raise ApiError(404, f"no message with ts {ts!r}")
        if message.get("ephemeral_to") not in (None, user):
            raise ApiError(403, "that message is visible only to another user")
        found = find_button(message.get("blocks") or [], action_id, body.get("value"))
        if found is None:
            raise ApiError(
                404, f"message {ts} has no button {action_id!r}" + (" with that value" if "value" in body else "")
            )
        block_id, button = found
        reply = self._bot().click(
            user=user, channel=message["channel"], message=message, block_id=block_id, button=button
        )
        if reply.status != 200:
            return 502, {"error": f"the bot answered HTTP {reply.status}", "status": reply.status, "body": reply.body}
        return 200, {"ok": True, "body": reply.body}

    def views(self, user: str) -> list[dict[str, Any]]:
        """The modals open for `user`: views the bot opened with a trigger id issued to them."""
        requests = self.requests
        with self._lock:
            closed = set(self._closed_views)
        return [
            {"id": v["id"], "view": v["view"]}
            for v in self.slack.views()
            if v["id"] not in closed and requests is not None and requests.trigger_user(v["trigger_id"]) == user
        ]

    def view_submit(self, body: dict[str, Any]) -> tuple[int, Any]:
        user = self._user(body)
        view_id = str(body.get("view_id") or "")
        view = next((v for v in self.views(user) if v["id"] == view_id), None)
        if view is None:
            raise ApiError(404, f"no open view {view_id!r} for {user}")
        values = body.get("values") or {}
        if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
            raise ApiError(400, "values must be {block_id: {action_id: text}}")
        full = {
            **view["view"],
            "id": view_id,
            "team_id": "T0BAKERY",
            "callback_id": view["view"].get("callback_id", ""),
            "private_metadata": view["view"].get("private_metadata", ""),
        }
        reply = self._bot().view_submission(user=user, view=full, values=values)
        if reply.status != 200:
            return 502, {"error": f"the bot answered HTTP {reply.status}", "status": reply.status, "body": reply.body}
        answer = reply.body if isinstance(reply.body, dict) else {}
        if answer.get("response_action") == "errors":
            return 200, {"ok": False, "errors": answer.get("errors", {})}
        self.close_view(view_id)
        return 200, {"ok": True}

    def close_view(self, view_id: str) -> None:
        with self._lock:
            self._closed_views.add(view_id)

    def response_url(self, key: str, body: dict[str, Any]) -> tuple[int, Any]:
        target = self._bot().response_target(key)
        if target is None:
            raise ApiError(404, "no such response_url")
        self.respond(target.channel, target.user, target.message_ts, body)
        return 200, {"ok": True}

    def respond(self, channel: str, user: str, message_ts: str, body: dict[str, Any]) -> None:
        """Slack's handling of a response_url post (or a command's answer): replace, delete, post or whisper."""
        text, blocks = str(body.get("text") or ""), body.get("blocks")
        if body.get("delete_original") and message_ts:
            self.slack.delete_message(message_ts)
        elif body.get("replace_original") and message_ts:
            self.slack.replace_message(message_ts, text, blocks)
        elif body.get("response_type") == "in_channel":
            self.slack.add_message(channel, text, blocks, str(body.get("thread_ts") or ""))
        else:
            self.slack.add_ephemeral(channel, user, text, blocks, str(body.get("thread_ts") or ""))


def find_button(blocks: list[dict[str, Any]], action_id: str, value: Any = None) -> tuple[str, dict[str, Any]] | None:
    """The (block_id, button) with this action id (and value, when given) in actions blocks or accessories."""
    for index, block in enumerate(blocks):
        elements = block.get("elements", []) if block.get("type") == "actions" else [block.get("accessory") or {}]
        for element in elements:
            if element.get("type") != "button" or element.get("action_id") != action_id:
                continue
            if value is not None and element.get("value") != value:
                continue
            return str(block.get("block_id") or f"b{index}"), element
    return None


def _handler_for(page: SandboxPage) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            parts = urlsplit(self.path)
            path, query = parts.path, parse_qs(parts.query)
            if path in ("/", "/index.html"):
                self._send(200, (STATIC / "index.html").read_bytes(), "text/html; charset=utf-8")
            elif path == "/api/messages":
                self._json(200, page.slack.messages())
            elif path == "/api/users":
                self._json(200, page.get_users())
            elif path == "/api/views":
                self._json(200, page.views((query.get("user") or [""])[0]))
            elif path == "/api/info":
                self._json(200, page._info())
            elif path == "/healthz":
                self._json(200, {"status": "ok"})
            elif (view := page._views(path)) is not None:  # build logs, executions, commits (pipeline/views.py)
                self._send(view[0], view[2], view[1])
            else:
                self._json(404, {"error": "no such route"})

        def do_POST(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            routes = {
                "/api/command": page.command,
                "/api/message": page.message,
                "/api/click": page.click,
                "/api/view_submit": page.view_submit,
                "/api/upstream": page.upstream_release,
            }
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    raise ApiError(413, "body too large")
                body = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(body, dict):
                    raise ApiError(400, "the body must be a JSON object")
                if path in routes:
                    self._json(*routes[path](body))
                elif path == "/api/view_close":
                    page.close_view(str(body.get("view_id") or ""))
                    self._json(200, {"ok": True})
                elif path.startswith("/slack/responses/"):
                    self._json(*page.response_url(path.rsplit("/", 1)[1], body))
                else:
                    self._json(404, {"error": "no such route"})
            except ApiError as exc:
                self._json(exc.status, {"error": exc.message})
            except ValueError:
                self._json(400, {"error": "the body is not JSON"})
            except Exception:  # noqa: BLE001 - answer 500 and keep the traceback in the log
                log.exception("sandbox.page_failed path=%s", path)
                self._json(500, {"error": "the sandbox failed; see its log"})

        def _json(self, status: int, doc: Any) -> None:
            self._send(status, json.dumps(doc).encode(), "application/json")

        def _send(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            if content_type.startswith("text/html"):
                self.send_header(
                    "Content-Security-Policy",
                    "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:",
                )
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # the page polls every second; request lines would drown the sandbox's log

    return Handler
