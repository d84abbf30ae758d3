"""Slack payloads parsed once at the edge into small records; past here nothing digs into raw dicts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.domain.errors import BadRequest

# Checked with fullmatch: `$` would also let through an id followed by a newline.
USER_RE = re.compile(r"[UW][A-Z0-9]{2,}")
CHANNEL_RE = re.compile(r"[CGD][A-Z0-9]{2,}")


def _object(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one: a field of the wrong type is a missing field."""
    return value if isinstance(value, dict) else {}


def _response_url(payload: dict[str, Any]) -> str:
    """Where Slack takes a late private answer; "" when the payload carries no usable one."""
    url = payload.get("response_url")
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else ""


@dataclass(frozen=True)
class SlashInvocation:
    user: str
    channel: str
    text: str
    trigger_id: str = ""
    response_url: str = ""

    @classmethod
    def from_payload(cls, command: dict[str, Any]) -> SlashInvocation:
        user = command.get("user_id")
        channel = command.get("channel_id")
        text = command.get("text") or ""
        if not isinstance(user, str) or not USER_RE.fullmatch(user):
            raise BadRequest("The command came without a valid user id.")
        if not isinstance(channel, str) or not CHANNEL_RE.fullmatch(channel):
            raise BadRequest("The command came without a valid channel id.")
        if not isinstance(text, str):
            raise BadRequest("The command text is not text.")
        trigger = command.get("trigger_id")
        return cls(
            user=user,
            channel=channel,
            text=text,
            trigger_id=trigger if isinstance(trigger, str) else "",
            response_url=_response_url(command),
        )


VALUE_RE = re.compile(r"[a-z0-9-]{3,40}")  # the bot's own opaque keys: ap-…, rs-…, r-…


@dataclass(frozen=True)
class ButtonClick:
    """One button press (block_actions): who, which button and key, where, and the trigger for a modal."""

    user: str
    action_id: str
    value: str
    channel: str
    message_ts: str
    trigger_id: str

    @staticmethod
    def who_and_where(body: dict[str, Any]) -> tuple[str, str] | None:
        """(user, channel) of a click, when both are well-formed: who to tell that their click was refused."""
        u, c = _object(body.get("user")).get("id"), _object(body.get("channel")).get("id")
        if isinstance(u, str) and USER_RE.fullmatch(u) and isinstance(c, str) and CHANNEL_RE.fullmatch(c):
            return u, c
        return None

    @classmethod
    def from_payload(cls, body: dict[str, Any]) -> ButtonClick:
        user = _object(body.get("user")).get("id")
        actions = body.get("actions")
        if not isinstance(user, str) or not USER_RE.fullmatch(user):
            raise BadRequest("The click came without a valid user id.")
        if not isinstance(actions, list) or len(actions) != 1 or not isinstance(actions[0], dict):
            raise BadRequest("The click must carry exactly one action.")
        action = actions[0]
        value = action.get("value")
        if not isinstance(value, str) or not VALUE_RE.fullmatch(value):
            raise BadRequest("That button carries no key I issued.")
        container = _object(body.get("container"))
        channel = _object(body.get("channel")).get("id") or container.get("channel_id")
        if not isinstance(channel, str) or not CHANNEL_RE.fullmatch(channel):
            raise BadRequest("The click came without a valid channel id.")
        ts = container.get("message_ts") or _object(body.get("message")).get("ts") or ""
        trigger = body.get("trigger_id")
        return cls(
            user=user,
            action_id=str(action.get("action_id", "")),
            value=value,
            channel=channel,
            message_ts=ts if isinstance(ts, str) else "",
            trigger_id=trigger if isinstance(trigger, str) else "",
        )


@dataclass(frozen=True)
class ViewSubmission:
    """A submitted modal: who, its callback id, the key it was opened for, and its input values."""

    user: str
    callback_id: str
    key: str
    values: dict[str, str]

    @classmethod
    def from_payload(cls, body: dict[str, Any]) -> ViewSubmission:
        user = _object(body.get("user")).get("id")
        view = body.get("view")
        if not isinstance(user, str) or not USER_RE.fullmatch(user):
            raise BadRequest("The form came without a valid user id.")
        if not isinstance(view, dict):
            raise BadRequest("The form came without its view.")
        key = view.get("private_metadata")
        if not isinstance(key, str) or not VALUE_RE.fullmatch(key):
            raise BadRequest("The form does not name anything I asked about.")
        values: dict[str, str] = {}
        for block_id, inputs in _object(_object(view.get("state")).get("values")).items():
            for action_id, element in _object(inputs).items():
                if isinstance(element, dict) and isinstance(element.get("value"), str):
                    values[f"{block_id}.{action_id}"] = element["value"]
        return cls(user=user, callback_id=str(view.get("callback_id", "")), key=key, values=values)
