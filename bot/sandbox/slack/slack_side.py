"""Slack's own side of the stand-in, for the sandbox page: response_url posts and what people post themselves.

The Web API half (bot/sandbox/slack/api.py) answers the bot's calls; this half does what Slack does on its
own: issue response_urls and show what is posted to them, and add the messages people type.
"""

from __future__ import annotations

import copy
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.sandbox.slack.wire import RESPONSE_PREFIX
from bot.sandbox.slack.workspace import SlackWorkspace


@dataclass(frozen=True)
class Call:
    """One Web API request as the stand-in received it (the token is never kept)."""

    method: str
    args: dict[str, Any]
    at: float
    status: int  # HTTP status answered
    error: str | None  # Slack error code, None when ok


class SlackSide:
    """Mixed into SlackApiStandIn, which owns the state these methods share."""

    _changed: threading.Condition
    _workspace: SlackWorkspace
    _responses: dict[str, tuple[str, str]]
    _calls: list[Call]
    _clock: Callable[[], float]

    @property
    def root_url(self) -> str:
        raise NotImplementedError

    def response_url(self, channel: str, user: str) -> str:
        """A response_url for a command or click by `user` in `channel`, as Slack puts in its payloads.

        A post to it shows its message to `user` (or the channel, for `response_type: in_channel`) and is
        recorded as a call of method "response_url", its arguments the body plus the URL.
        """
        key = secrets.token_urlsafe(12)
        with self._changed:
            self._responses[key] = (channel, user)
        return f"{self.root_url}{RESPONSE_PREFIX.lstrip('/')}{key}"

    def respond(self, key: str, body: dict[str, Any]) -> bool:
        """Slack's handling of a post to a response_url it issued; False when it issued no such URL."""
        with self._changed:
            target = self._responses.get(key)
            if target is None:
                return False
            url = f"{self.root_url}{RESPONSE_PREFIX.lstrip('/')}{key}"
            recorded = {"response_url": url, **copy.deepcopy(body)}
            self._calls.append(Call("response_url", recorded, self._clock(), 200, None))
            channel, user = target
            text, blocks = str(body.get("text") or ""), body.get("blocks")
            thread_ts = str(body.get("thread_ts") or "")
            if body.get("response_type") == "in_channel":
                self.add_message(channel, text, blocks, thread_ts)
            else:
                self.add_ephemeral(channel, user, text, blocks, thread_ts)
            self._changed.notify_all()
            return True

    def usergroups(self) -> dict[str, tuple[str, ...]]:
        with self._changed:
            return dict(self._workspace.usergroups)

    def add_ephemeral(
        self, channel: str, user: str, text: str, blocks: list[dict[str, Any]] | None = None, thread_ts: str = ""
    ) -> str:
        """Show `user` a message only they see, as Slack does with a command's answer; returns its ts."""
        args = {"channel": channel, "user": user, "text": text, "blocks": blocks, "thread_ts": thread_ts}
        with self._changed:
            ts = str(self._workspace.chat_post_ephemeral({k: v for k, v in args.items() if v})["message_ts"])
            self._changed.notify_all()
        return ts

    def add_message(
        self, channel: str, text: str, blocks: list[Any] | None = None, thread_ts: str = "", username: str = ""
    ) -> str:
        """Post in the channel on the bot's behalf (an in_channel answer), or under `username` (the sandbox's own)."""
        args = {"channel": channel, "text": text, "blocks": blocks, "thread_ts": thread_ts, "username": username}
        with self._changed:
            ts = str(self._workspace.chat_post_message({k: v for k, v in args.items() if v})["ts"])
            self._changed.notify_all()
        return ts

    def add_user_message(self, channel: str, user: str, text: str, thread_ts: str = "") -> str:
        """A person's own message in the channel (what the page's box sends when it is no slash command)."""
        with self._changed:
            ts = self._workspace.user_message(channel, user, text, thread_ts)
            self._changed.notify_all()
        return ts

    def replace_message(self, ts: str, text: str, blocks: list[dict[str, Any]] | None = None) -> bool:
        """Replace a message's content (response_url `replace_original`), ephemeral ones included."""
        with self._changed:
            msg = self._workspace.messages.get(ts)
            if msg is None:
                return False
            msg.text, msg.blocks = text or msg.text, list(blocks or [])
            msg.edited_ts = self._workspace.next_ts()
            self._changed.notify_all()
            return True

    def delete_message(self, ts: str) -> bool:
        """Remove a message (response_url `delete_original`)."""
        with self._changed:
            removed = self._workspace.messages.pop(ts, None) is not None
            self._changed.notify_all()
            return removed
