"""What a Slack workspace remembers of the bot's calls, and how each Web API method answers.

`SlackWorkspace` is plain state plus one function per Web API method (the views.* ones in `views.py`); it is
not thread-safe: the HTTP stand-in (`bot/sandbox/slack/api.py`) serialises calls into it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.sandbox.slack.history import SlackHistory
from bot.sandbox.slack.limits import block_problems
from bot.sandbox.slack.refusals import SlackRefusal, arg
from bot.sandbox.slack.views import SlackViews

# Slack posts longer texts truncated or not at all; the stand-in refuses them so tests notice.
MAX_TEXT = 40000
TS_RE = re.compile(r"^\d{10}\.\d{6}$")
USER_RE = re.compile(r"^[UW][A-Z0-9]+$")


@dataclass
class StoredMessage:
    ts: str
    channel: str
    thread_ts: str | None
    text: str
    blocks: list[dict[str, Any]]
    user: str
    ephemeral_to: str | None = None
    edited_ts: str | None = None
    username: str | None = None  # chat.postMessage's `username`: the name shown instead of the bot's
    metadata: dict[str, Any] | None = None  # message metadata: {"event_type", "event_payload"}


class SlackWorkspace(SlackViews, SlackHistory):
    """One team, its channels, users and user groups, and everything the bot posted or opened."""

    def __init__(
        self,
        *,
        bot_user_id: str,
        bot_id: str,
        team_id: str,
        channels: Iterable[str],
        users: Mapping[str, str] | None,
        usergroups: Mapping[str, Iterable[str]],
        clock: Callable[[], float],
    ):
        super().__init__(team_id=team_id, bot_id=bot_id)
        self.bot_user_id = bot_user_id
        self.channels = frozenset(channels)
        # None: any well-formed user id exists, so tests need not declare every user they mention.
        self.users = dict(users) if users is not None else None
        self.usergroups = {group: tuple(members) for group, members in usergroups.items()}
        self.root_url = "http://127.0.0.1/"  # replaced by the stand-in once it has a port
        self._clock = clock
        self._last_micros = 0
        self.messages: dict[str, StoredMessage] = {}  # ts -> message; dicts keep posting order

    def clear(self) -> None:
        """Forget every message and view (configuration stays)."""
        self.messages.clear()
        self.views.clear()

    def methods(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.getPermalink": self.chat_get_permalink,
            "usergroups.users.list": self.usergroups_users_list,
            "views.open": self.views_open,
            "views.push": self.views_push,
            "views.update": self.views_update,
            "users.info": self.users_info,
            "conversations.info": self.conversations_info,
            "conversations.history": self.conversations_history,
            "conversations.replies": self.conversations_replies,
        }

    # -- helpers ---------------------------------------------------------------------------------

    def next_ts(self) -> str:
        """A message ts: seconds.microseconds, unique and strictly increasing even within a microsecond."""
        micros = max(int(self._clock() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel(self, args: Mapping[str, Any]) -> str:
        channel = arg(args, "channel")
        if channel not in self.channels:
            raise SlackRefusal("channel_not_found")
        return channel

    def _is_user(self, user_id: str) -> bool:
        if user_id == self.bot_user_id:
            return True
        return user_id in self.users if self.users is not None else bool(USER_RE.match(user_id))

    def _content(self, args: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]] | None]:
        """The text and blocks of a post, refused as Slack would refuse them."""
        text = arg(args, "text")
        blocks = args.get("blocks")
        if blocks is not None:
            if not isinstance(blocks, list):
                raise SlackRefusal("invalid_blocks_format")
            problems = block_problems(blocks)
            if problems:
                raise SlackRefusal("invalid_blocks", problems)
        if not text and not blocks and not args.get("attachments"):
            raise SlackRefusal("no_text")
        if len(text) > MAX_TEXT:
            raise SlackRefusal("msg_too_long")
        return text, blocks

    def _thread_parent(self, channel: str, thread_ts: str) -> str:
        # Slack files a reply to a reply under the thread's parent; a ts that names no message is
        # accepted by Slack and the reply silently vanishes, so the stand-in refuses it instead.
        if not TS_RE.match(thread_ts):
            raise SlackRefusal("invalid_thread_ts", [f"[ERROR] {thread_ts} is not a valid thread_ts"])
        parent = self.messages.get(thread_ts)
        if parent is None or parent.channel != channel or parent.ephemeral_to is not None:
            raise SlackRefusal("thread_not_found")
        return parent.thread_ts or parent.ts

    def _metadata(self, args: Mapping[str, Any]) -> dict[str, Any] | None:
        """A post's message metadata, refused as Slack refuses a malformed one."""
        metadata = args.get("metadata")
        if metadata is None or metadata == "":
            return None
        if not isinstance(metadata, dict):
            raise SlackRefusal("invalid_metadata_format")
        if not isinstance(metadata.get("event_type"), str) or not isinstance(metadata.get("event_payload"), dict):
            raise SlackRefusal("invalid_metadata_schema")
        return {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}

    def _message_json(self, msg: StoredMessage, with_metadata: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "message",
            "ts": msg.ts,
            "text": msg.text,
            "blocks": msg.blocks,
            "user": msg.user,
            "bot_id": self.bot_id,
            "team": self.team_id,
        }
        if msg.thread_ts:
            out["thread_ts"] = msg.thread_ts
        if msg.edited_ts:
            out["edited"] = {"user": msg.user, "ts": msg.edited_ts}
        if msg.metadata and with_metadata:
            out["metadata"] = msg.metadata
        return out

    # -- methods ---------------------------------------------------------------------------------

    def auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        # Bolt reads bot_id/user_id/team_id from this answer to build its authorization context.
        return {
            "url": self.root_url,
            "team": "Bakery Sandbox",
            "user": "bakery",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        text, blocks = self._content(args)
        thread_ts = arg(args, "thread_ts") or None
        if thread_ts:
            thread_ts = self._thread_parent(channel, thread_ts)
        metadata = self._metadata(args)
        msg = StoredMessage(self.next_ts(), channel, thread_ts, text, blocks or [], self.bot_user_id)
        msg.username = arg(args, "username") or None
        msg.metadata = metadata
        self.messages[msg.ts] = msg
        return {"channel": channel, "ts": msg.ts, "message": self._message_json(msg)}

    def user_message(self, channel: str, user: str, text: str, thread_ts: str = "") -> str:
        """A person's message, refused as Slack's client would refuse it; returns its ts."""
        if channel not in self.channels:
            raise SlackRefusal("channel_not_found")
        if not self._is_user(user) or user == self.bot_user_id:
            raise SlackRefusal("user_not_found")
        text, _ = self._content({"text": text})
        parent = self._thread_parent(channel, thread_ts) if thread_ts else None
        msg = StoredMessage(self.next_ts(), channel, parent, text, [], user)
        self.messages[msg.ts] = msg
        return msg.ts

    def chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        msg = self.messages.get(arg(args, "ts"))
        if msg is None or msg.channel != channel or msg.ephemeral_to is not None:
            raise SlackRefusal("message_not_found")
        # Slack keeps the fields an update leaves out; an empty blocks list clears them.
        merged = {"text": msg.text, "blocks": msg.blocks, **{k: v for k, v in args.items() if v is not None}}
        text, blocks = self._content(merged)
        if args.get("metadata") is not None:
            msg.metadata = self._metadata(args)
        msg.text, msg.blocks, msg.edited_ts = text, blocks or [], self.next_ts()
        return {"channel": channel, "ts": msg.ts, "text": msg.text, "message": self._message_json(msg)}

    def chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        user = arg(args, "user")
        if not self._is_user(user):
            raise SlackRefusal("user_not_found")
        text, blocks = self._content(args)
        thread_ts = arg(args, "thread_ts") or None
        if thread_ts:
            thread_ts = self._thread_parent(channel, thread_ts)
        msg = StoredMessage(self.next_ts(), channel, thread_ts, text, blocks or [], self.bot_user_id, user)
        self.messages[msg.ts] = msg
        return {"message_ts": msg.ts}

    def chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        msg = self.messages.get(arg(args, "message_ts"))
        if msg is None or msg.channel != channel or msg.ephemeral_to is not None:
            raise SlackRefusal("message_not_found")
        link = f"{self.root_url}archives/{channel}/p{msg.ts.replace('.', '')}"
        if msg.thread_ts:
            link += f"?thread_ts={msg.thread_ts}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        members = self.usergroups.get(arg(args, "usergroup"))
        if members is None:
            raise SlackRefusal("no_such_subteam")
        return {"users": list(members)}

    def users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = arg(args, "user")
        if not self._is_user(user_id):
            raise SlackRefusal("user_not_found")
        is_bot = user_id == self.bot_user_id
        name = "bakery" if is_bot else (self.users or {}).get(user_id, user_id.lower())
        return {
            "user": {
                "id": user_id,
                "team_id": self.team_id,
                "name": name,
                "real_name": name,
                "deleted": False,
                "is_bot": is_bot,
                "profile": {
                    "real_name": name,
                    "display_name": name,
                    # A stand-in address: lets the bot's four-eyes check match commit authors to users.
                    **({} if is_bot else {"email": f"{name}@example.com"}),
                },
            }
        }

    def conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        return {
            "channel": {
                "id": channel,
                "name": channel.lower(),
                "is_channel": True,
                "is_private": False,
                "is_archived": False,
                "is_member": True,
            }
        }
