"""Slack payloads parsed once at the edge into small records; past here nothing digs into raw dicts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.errors import BadRequest

USER_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
CHANNEL_RE = re.compile(r"^[CGD][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class SlashInvocation:
    user: str
    channel: str
    text: str
    trigger_id: str = ""

    @classmethod
    def from_payload(cls, command: dict[str, Any]) -> SlashInvocation:
        user = command.get("user_id")
        channel = command.get("channel_id")
        text = command.get("text") or ""
        if not isinstance(user, str) or not USER_RE.match(user):
            raise BadRequest("The command came without a valid user id.")
        if not isinstance(channel, str) or not CHANNEL_RE.match(channel):
            raise BadRequest("The command came without a valid channel id.")
        if not isinstance(text, str):
            raise BadRequest("The command text is not text.")
        trigger = command.get("trigger_id")
        return cls(user=user, channel=channel, text=text, trigger_id=trigger if isinstance(trigger, str) else "")
