"""A local stand-in for the Slack Web API: the test suite's and the sandbox's Slack, on 127.0.0.1.

It speaks the wire protocol slack_sdk speaks (POST /api/<method>, form-encoded or JSON, bearer token;
decoded in wire.py), answers like Slack (`ok: false` with Slack's error codes, HTTP 429 with Retry-After),
keeps the channel as the bot left it, and records every call for tests. Socket Mode itself is not emulated:
`apps.connections.open` answers, but nothing listens on the URL it returns.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from http.server import ThreadingHTTPServer
from typing import Any, TypeVar

from bot.sandbox.local_server import LocalServer
from bot.sandbox.slack.faults import Fault, Faults
from bot.sandbox.slack.refusals import SlackRefusal
from bot.sandbox.slack.slack_side import Call, SlackSide
from bot.sandbox.slack.wire import API_PREFIX, handler_for
from bot.sandbox.slack.workspace import SlackWorkspace

APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
# serve_forever's poll interval: stop() waits up to this long for the serving loop to notice.
POLL_SECONDS = 0.02

T = TypeVar("T")


class SlackApiStandIn(SlackSide, LocalServer):
    """Slack's Web API for one workspace, served on 127.0.0.1 until `stop()`."""

    _thread_name = "slack-api-stand-in"
    _not_running = "the Slack stand-in is not running"
    _poll_interval = POLL_SECONDS

    def __init__(
        self,
        token: str = "xoxb-test",  # noqa: S107 - the stand-in's own fake tokens, not secrets
        *,
        bot_user_id: str = "U0BAKERYBOT",
        bot_id: str = "B0BAKERYBOT",
        team_id: str = "T0BAKERY",
        app_token: str = "xapp-test",  # noqa: S107
        channels: Iterable[str] = ("C0BAKERY",),
        users: Mapping[str, str] | None = None,
        usergroups: Mapping[str, Iterable[str]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__()
        self.token = token
        self.app_token = app_token
        self._host, self._port = host, port
        self._clock = clock
        self._workspace = SlackWorkspace(
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            team_id=team_id,
            channels=channels,
            users=users,
            usergroups=usergroups or {},
            clock=clock,
        )
        self._methods = self._workspace.methods()
        self._methods["apps.connections.open"] = self._apps_connections_open
        self._changed = threading.Condition(threading.RLock())
        self._calls: list[Call] = []
        self._faults = Faults()
        self._responses: dict[str, tuple[str, str]] = {}  # response_url key -> (channel, user)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> SlackApiStandIn:
        if self._server is not None:
            raise RuntimeError("the Slack stand-in is already running")
        return super().start()

    def _bind(self) -> ThreadingHTTPServer:
        return ThreadingHTTPServer((self._host, self._port), handler_for(self))

    def _bound(self, server: ThreadingHTTPServer) -> None:
        self._workspace.root_url = self.root_url

    @property
    def root_url(self) -> str:
        return self._url() + "/"

    @property
    def base_url(self) -> str:
        """For `WebClient(base_url=...)` and SLACK_API_URL, like https://slack.com/api/."""
        return self.root_url + API_PREFIX.lstrip("/")

    # -- configuration while running -------------------------------------------------------------

    def set_usergroup(self, group_id: str, members: Iterable[str]) -> None:
        with self._changed:
            self._workspace.usergroups[group_id] = tuple(members)

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls of `method` answer HTTP 429 with this Retry-After (whole seconds)."""
        with self._changed:
            self._faults.add_fault(method, Fault(times, None, retry_after))

    def server_error(self, method: str, times: int = 1, status: int = 500) -> None:
        """The next `times` calls of `method` answer HTTP `status` (500, 503…): Slack failing, not refusing."""
        with self._changed:
            self._faults.add_fault(method, Fault(times, None, status=status))

    def fail(self, method: str, error: str, times: int = 1) -> None:
        """The next `times` calls of `method` answer `ok: false` with this Slack error code."""
        with self._changed:
            self._faults.add_fault(method, Fault(times, error))

    def delay(self, method: str, seconds: float, times: int | None = None) -> None:
        """The next `times` calls of `method` (every call, when None) are answered only after `seconds`, as a
        slow or throttled Slack answers; other calls are not held up meanwhile. `seconds=0` ends it."""
        with self._changed:
            self._faults.set_delay(method, seconds, times)

    def reset(self) -> None:
        """Forget calls, messages, views, pending faults and delays; keep tokens, channels, users and groups."""
        with self._changed:
            self._calls.clear()
            self._faults.clear()
            self._responses.clear()
            self._workspace.clear()

    # -- what tests and the sandbox page read ----------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        with self._changed:
            return [c for c in self._calls if method is None or c.method == method]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Block until predicate() is truthy (re-checked after every call); return its value.

        Raises TimeoutError naming the calls seen, so a failing test says what did happen.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (result := predicate()):
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [f"{c.method}:{c.error or 'ok'}" for c in self._calls]
                    raise TimeoutError(f"condition not met within {timeout}s; calls: {seen}")
                self._changed.wait(left)
            return result

    def messages(self) -> list[dict[str, Any]]:
        """The channel as the bot left it, in the shape of CONTRACT §9's GET /api/messages, plus who posted each."""
        with self._changed:
            return [
                {
                    "ts": m.ts,
                    "thread_ts": m.thread_ts,
                    "channel": m.channel,
                    "text": m.text,
                    "blocks": copy.deepcopy(m.blocks),
                    "ephemeral_to": m.ephemeral_to,
                    "user": m.user,
                    **({"username": m.username} if m.username else {}),
                    **({"metadata": copy.deepcopy(m.metadata)} if m.metadata else {}),
                }
                for m in self._workspace.messages.values()
            ]

    def views(self) -> list[dict[str, Any]]:
        """Every view opened or pushed, in order: [{"id", "trigger_id", "view"}]."""
        with self._changed:
            return [
                {"id": view_id, "trigger_id": r["trigger_id"], "view": copy.deepcopy(r["view"])}
                for view_id, r in self._workspace.views.items()
            ]

    # -- answering -------------------------------------------------------------------------------

    def answer(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Answer one Web API call: (HTTP status, extra headers, JSON body). Records the call."""
        args = {k: v for k, v in args.items() if k != "token"}
        with self._changed:
            pause = self._faults.take_delay(method)
        if pause:
            time.sleep(pause)  # outside the lock: a slow method must not hold up the others
        with self._changed:
            status, headers, body = self._answer(method, args, token)
            self._calls.append(Call(method, copy.deepcopy(args), self._clock(), status, body.get("error")))
            self._changed.notify_all()
        return status, headers, body

    def _answer(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        handler = self._methods.get(method)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method", "req_method": method}
        if not token:
            return 200, {}, {"ok": False, "error": "not_authed"}
        if token not in (self.token, self.app_token):
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        if (token == self.app_token) != (method in APP_TOKEN_METHODS):
            return 200, {}, {"ok": False, "error": "not_allowed_token_type"}
        fault = self._faults.take_fault(method)
        if fault is not None and fault.status:
            return fault.status, {}, {"ok": False, "error": "internal_error"}
        if fault is not None and fault.error is None:
            return 429, {"Retry-After": str(fault.retry_after)}, {"ok": False, "error": "ratelimited"}
        if fault is not None:
            return 200, {}, {"ok": False, "error": fault.error}
        try:
            return 200, {}, {"ok": True, **handler(args)}
        except SlackRefusal as refusal:
            body: dict[str, Any] = {"ok": False, "error": refusal.error}
            if refusal.messages:
                body["response_metadata"] = {"messages": refusal.messages}
            return 200, {}, body

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        # Socket Mode is not emulated: the sandbox drives the bot over HTTP, as `bakery serve` is driven.
        return {"url": self.root_url.replace("http://", "ws://", 1) + "socket-mode-not-emulated"}
