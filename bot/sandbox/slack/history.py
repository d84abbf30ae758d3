"""Reading a channel back, as Slack answers it: conversations.history and conversations.replies.

The bot reads history only to find its own message after a crash (CONTRACT §15), by the message metadata it
posted with; so the stand-in serves what Slack serves for that: `oldest`/`latest` (exclusive unless
`inclusive`), `limit`, cursor pages (`has_more`, `response_metadata.next_cursor`), and a message's
`metadata` only when `include_all_metadata` is asked for.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

from bot.sandbox.slack.refusals import SlackRefusal, arg

HISTORY_LIMIT = 100  # Slack's default page of conversations.history
REPLIES_LIMIT = 1000  # and of conversations.replies
MAX_LIMIT = 999


def _flag(args: Mapping[str, Any], name: str) -> bool:
    return arg(args, name).lower() in ("1", "true")


def _limit(args: Mapping[str, Any], default: int) -> int:
    raw = arg(args, "limit")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SlackRefusal("invalid_arguments", ["[ERROR] limit must be a number"]) from None
    return default if value <= 0 else min(value, MAX_LIMIT)


def _ts_bound(args: Mapping[str, Any], name: str) -> float | None:
    raw = arg(args, name)
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise SlackRefusal("invalid_ts_" + name) from None


def _cursor_of(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _after_cursor(args: Mapping[str, Any]) -> str | None:
    raw = arg(args, "cursor")
    if not raw:
        return None
    try:
        text = base64.b64decode(raw, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise SlackRefusal("invalid_cursor") from None
    if not text.startswith("next_ts:"):
        raise SlackRefusal("invalid_cursor")
    return text[len("next_ts:") :]


def page(
    messages: list[Any],
    args: Mapping[str, Any],
    *,
    default_limit: int,
    newest_first: bool,
    as_json: Callable[[Any, bool], dict[str, Any]],
) -> dict[str, Any]:
    """One page of `messages` (StoredMessage, in posting order) as Slack pages them."""
    oldest, latest = _ts_bound(args, "oldest"), _ts_bound(args, "latest")
    inclusive = _flag(args, "inclusive")

    def within(ts: str) -> bool:
        t = float(ts)
        if oldest is not None and (t < oldest or (t == oldest and not inclusive)):
            return False
        return latest is None or t < latest or (t == latest and inclusive)

    chosen = [m for m in messages if within(m.ts)]
    if newest_first:
        chosen.reverse()
    start = _after_cursor(args)
    if start is not None:
        at = next((i for i, m in enumerate(chosen) if m.ts == start), None)
        if at is None:
            raise SlackRefusal("invalid_cursor")
        chosen = chosen[at:]
    limit = _limit(args, default_limit)
    shown, rest = chosen[:limit], chosen[limit:]
    metadata = _flag(args, "include_all_metadata")
    body: dict[str, Any] = {"messages": [as_json(m, metadata) for m in shown], "has_more": bool(rest)}
    body["response_metadata"] = {"next_cursor": _cursor_of(rest[0].ts) if rest else ""}
    return body


class SlackHistory:
    """Mixed into SlackWorkspace: the two methods that read a channel back."""

    messages: dict[str, Any]
    _channel: Callable[[Mapping[str, Any]], str]
    _message_json: Callable[..., dict[str, Any]]

    def conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        # The channel's own timeline: top-level messages, not thread replies, never anyone's ephemeral.
        timeline = [
            m for m in self.messages.values() if m.channel == channel and not m.thread_ts and m.ephemeral_to is None
        ]
        body = page(timeline, args, default_limit=HISTORY_LIMIT, newest_first=True, as_json=self._message_json)
        return {**body, "pin_count": 0}

    def conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        parent = self.messages.get(arg(args, "ts"))
        if parent is None or parent.channel != channel or parent.ephemeral_to is not None:
            raise SlackRefusal("thread_not_found")
        root = parent.thread_ts or parent.ts
        thread = [
            m
            for m in self.messages.values()
            if m.channel == channel and m.ephemeral_to is None and (m.ts == root or m.thread_ts == root)
        ]
        return page(thread, args, default_limit=REPLIES_LIMIT, newest_first=False, as_json=self._message_json)
