"""Slack's Events API side for the sandbox page: a person's channel message as the `event_callback` Slack
posts to the bot's /slack/events (JSON, signed like every Slack request)."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

TEAM_ID, APP_ID, BOT_USER_ID = "T0BAKERY", "A0BAKERY", "U0BAKERYBOT"


def message_event(*, user: str, channel: str, text: str, ts: str, thread_ts: str = "") -> dict[str, Any]:
    """The `event_callback` of a person's message (as `message.channels` or `message.groups` sends it)."""
    event: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "channel_type": "group" if channel.startswith("G") else "channel",
        "event_ts": ts,
        "team": TEAM_ID,
        "client_msg_id": str(uuid.uuid4()),
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    authorization = {"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True, "is_enterprise_install": False}
    return {
        "token": "sandbox-verification-token-unused",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": "Ev" + secrets.token_hex(8).upper(),
        "event_time": int(float(ts)),
        "authorizations": [{"enterprise_id": None, **authorization}],
        "is_ext_shared_channel": False,
    }
