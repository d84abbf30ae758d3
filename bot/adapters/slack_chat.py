"""The bot's Slack Web API adapter: `bot.ports.Chat` over slack_sdk's WebClient."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, RetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot.domain.errors import ChatError
from bot.domain.fencing import check_guard

log = logging.getLogger(__name__)
DEFAULT_BASE_URL = "https://slack.com/api/"
TIMEOUT_SECONDS = 10
RATE_LIMIT_RETRIES = 3
CONNECTION_RETRIES = 2
SERVER_ERROR_RETRIES = 2  # HTTP 500 / 503 from Slack: retried after 0.5 s, then 1 s (slack_sdk's back-off)
# Looking for the bot's own post after a crash (find_posted): how much history since the post began is read.
HISTORY_PAGE_SIZE = 100
HISTORY_PAGES = 5


def make_web_client(token: str, base_url: str | None = None, *, timeout: int = TIMEOUT_SECONDS) -> WebClient:
    """A WebClient that waits out Slack's rate limits (429 + Retry-After) and retries dropped connections and
    Slack's own 500 / 503 answers, each a bounded number of times.

    slack_sdk's default retries connection errors only; passing `retry_handlers` replaces that default,
    so every handler is listed.
    """
    return WebClient(token=token, base_url=base_url or DEFAULT_BASE_URL, timeout=timeout, retry_handlers=_retries())


def _retries() -> list[Any]:
    return [
        _Guarded(ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES)),
        _Guarded(RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)),
        _Guarded(ServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES)),
    ]


class _Guarded(RetryHandler):
    """A slack_sdk retry handler whose resend is first cleared with the caller's guard (bot.domain.fencing).

    slack_sdk waits out a 429's Retry-After (or a 5xx's back-off) inside the one call, then sends the same
    request again. A publisher that lost its lease meanwhile (paused, or slower than its lease) must not send
    its old render after the new leader drew a newer one: after the wait, the guard raises FenceLost instead.
    """

    def __init__(self, inner: RetryHandler):
        super().__init__(max_retry_count=inner.max_retry_count)
        self._inner = inner

    def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> bool:
        return bool(self._inner._can_retry(state=state, request=request, response=response, error=error))

    def prepare_for_next_attempt(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> None:
        self._inner.prepare_for_next_attempt(state=state, request=request, response=response, error=error)
        check_guard()


class SlackChat:
    """`bot.ports.Chat`: every Slack failure is a ChatError naming the method and Slack's error code.

    `on_error(method, code)` hears of each failure (`bakery_slack_errors_total`); code None when Slack gave none.
    """

    def __init__(self, client: WebClient, *, on_error: Callable[[str, str | None], None] = lambda m, c: None):
        self._client = client
        self._workspace_url = ""
        self._on_error = on_error

    def workspace_url(self) -> str:
        """The workspace's URL ("https://acme.slack.com/", auth.test's `url`): asked once, "" while Slack
        cannot say (the next link asks again). Read only by renderers, which run off the listeners' path."""
        if not self._workspace_url:
            try:
                self._workspace_url = str(self._call("auth.test", self._client.auth_test).get("url") or "")
            except ChatError:
                log.warning("slack.workspace_url_unknown")
        return self._workspace_url

    def post(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        kwargs: dict[str, Any] = {"channel": channel, "text": text, "blocks": blocks}
        if thread_ts is not None:
            kwargs["thread_ts"] = thread_ts
        if metadata is not None:
            kwargs["metadata"] = metadata
        response = self._call("chat.postMessage", self._client.chat_postMessage, **kwargs)
        return str(response["ts"])

    def find_posted(
        self, *, channel: str, since: float, metadata: dict[str, Any], thread_ts: str | None = None
    ) -> str | None:
        """Reads the channel's history (conversations.history, or conversations.replies in a thread) since
        `since`, newest first, with include_all_metadata: at most HISTORY_PAGES pages of HISTORY_PAGE_SIZE.
        Needs channels:history (groups:history in private channels), asked for only to find the bot's own
        message after a crash."""
        args: dict[str, Any] = {
            "channel": channel,
            "oldest": f"{max(since, 0.0):.6f}",
            "inclusive": True,
            "include_all_metadata": True,
            "limit": HISTORY_PAGE_SIZE,
        }
        for _ in range(HISTORY_PAGES):
            if thread_ts:
                response = self._call("conversations.replies", self._client.conversations_replies, ts=thread_ts, **args)
            else:
                response = self._call("conversations.history", self._client.conversations_history, **args)
            for message in response.get("messages") or ():
                if message.get("metadata") == metadata and message.get("ts") != thread_ts:
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not (response.get("has_more") and cursor):
                return None
            args["cursor"] = cursor
        log.warning("slack.history_not_searched_to_the_end channel=%s since=%.6f", channel, since)
        return None

    def update(self, *, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        # blocks are always sent: Slack keeps the old ones when the field is absent, and [] must clear.
        self._call("chat.update", self._client.chat_update, channel=channel, ts=ts, text=text, blocks=blocks)

    def post_ephemeral(
        self,
        *,
        channel: str,
        user: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if blocks is not None:
            kwargs["blocks"] = blocks
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        self._call("chat.postEphemeral", self._client.chat_postEphemeral, **kwargs)

    def group_members(self, group_id: str) -> frozenset[str]:
        response = self._call(
            "usergroups.users.list",
            self._client.usergroups_users_list,
            usergroup=group_id,
            include_disabled=False,
        )
        return frozenset(response.get("users") or ())

    def user_email(self, user: str) -> str | None:
        """The user's e-mail address (users.info; needs `users:read.email`), None when Slack shows none."""
        profile = self._call("users.info", self._client.users_info, user=user)["user"].get("profile") or {}
        return profile.get("email") or None

    def user_name(self, user: str) -> str:
        """The user's display name, else real name, else the id."""
        info = self._call("users.info", self._client.users_info, user=user)["user"]
        profile = info.get("profile") or {}
        return profile.get("display_name") or profile.get("real_name") or info.get("name") or user

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> str:
        """Open a modal; return its view id (for views.update later)."""
        response = self._call("views.open", self._client.views_open, trigger_id=trigger_id, view=view)
        return str(response["view"]["id"])

    def update_view(self, view_id: str, view: dict[str, Any]) -> None:
        """Replace an open modal's content (no trigger needed, so it may come after Slack's 3 seconds)."""
        self._call("views.update", self._client.views_update, view_id=view_id, view=view)

    def respond(self, response_url: str, *, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """Answer a command or click privately through its response_url.

        Unlike chat.postEphemeral this works wherever the command was typed, in channels the bot is not in
        and in direct messages; Slack accepts it for 30 minutes.
        """
        hook = WebhookClient(response_url, timeout=self._client.timeout, retry_handlers=_retries())
        try:
            response = hook.send(text=text, blocks=blocks, response_type="ephemeral")
        except (SlackClientError, OSError) as err:
            self._on_error("response_url", type(err).__name__)
            raise ChatError(f"Slack response_url failed: {type(err).__name__}") from err
        if response.status_code != 200:
            self._on_error("response_url", str(response.status_code))
            # The URL is not shown: it is a bearer credential for answering in that conversation.
            raise ChatError(f"Slack response_url failed: HTTP {response.status_code}", code=str(response.status_code))

    def _call(self, method: str, call: Any, **kwargs: Any) -> Any:
        # Errors name only the method and Slack's code, never the request: its headers hold the token.
        try:
            return call(**kwargs)
        except SlackApiError as err:
            code = err.response.get("error") if err.response is not None else None
            if err.response is not None and err.response.status_code == 429:
                code = "ratelimited"
            self._on_error(method, code)
            raise ChatError(f"Slack {method} failed: {code or 'unknown_error'}", code=code) from err
        except (SlackClientError, OSError) as err:
            # OSError covers what urllib raises once the connection retries are spent (URLError, timeouts).
            self._on_error(method, type(err).__name__)
            raise ChatError(f"Slack {method} failed: {type(err).__name__}") from err
