"""Slack's side of the conversation with the bot: signed slash commands, button clicks and modal submissions.

The payloads have the shapes Slack sends (application/x-www-form-urlencoded; interactivity as `payload=<json>`)
and the signature Slack computes (`v0=` HMAC-SHA256 of `v0:<timestamp>:<body>`), so the bot verifies them
exactly as it verifies Slack's own. Trigger ids and response URLs are issued here and remembered, so the
page can tell whose modal a `views.open` was and where a `response_url` post belongs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from bot.sandbox.slack.events import APP_ID, TEAM_ID, message_event

TEAM_DOMAIN = "bakery-sandbox"
TIMEOUT = 10.0


@dataclass(frozen=True)
class Reply:
    """The bot's HTTP answer: status and body (JSON decoded when it is JSON, else the text)."""

    status: int
    body: Any
    text: str = ""  # the body as sent


@dataclass(frozen=True)
class ResponseTarget:
    """Where a response_url post lands: the channel, the user it came from, the message it came from."""

    channel: str
    user: str
    message_ts: str = ""


# --- the requests, as Slack shapes them (pure: the caller issues trigger ids and response URLs) -----


def user_of(user: str, name: str) -> dict[str, str]:
    return {"id": user, "username": name, "name": name, "team_id": TEAM_ID}


def command_form(
    *, user: str, user_name: str, channel: str, command: str, text: str, trigger_id: str, response_url: str
) -> dict[str, str]:
    """A slash command's form fields."""
    return {
        "token": "sandbox-verification-token-unused",
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel,
        "channel_name": channel.lower(),
        "user_id": user,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def click_payload(
    *,
    user: str,
    user_name: str,
    channel: str,
    message: dict[str, Any],
    block_id: str,
    button: dict[str, Any],
    trigger_id: str,
    response_url: str,
) -> dict[str, Any]:
    """The block_actions payload of one button of `message` (as the Slack Web API stand-in holds it)."""
    ephemeral = message.get("ephemeral_to") is not None
    action = {
        "type": "button",
        "action_id": button.get("action_id", ""),
        "block_id": block_id,
        "text": button.get("text", {"type": "plain_text", "text": ""}),
        "action_ts": f"{time.time():.6f}",
    }
    for key in ("value", "style", "url"):
        if key in button:
            action[key] = button[key]
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": user_of(user, user_name),
        "api_app_id": APP_ID,
        "token": "sandbox-verification-token-unused",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": trigger_id,
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": channel.lower()},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }
    if message.get("thread_ts"):
        payload["container"]["thread_ts"] = message["thread_ts"]
    if not ephemeral:  # Slack leaves the message out of clicks on ephemeral messages
        payload["message"] = {
            "type": "message",
            "ts": message["ts"],
            "text": message.get("text", ""),
            "blocks": message.get("blocks", []),
            "user": "U0BAKERYBOT",
            "bot_id": "B0BAKERYBOT",
            **({"thread_ts": message["thread_ts"]} if message.get("thread_ts") else {}),
        }
    return payload


def view_payload(
    *, user: str, user_name: str, view: dict[str, Any], values: dict[str, dict[str, str]], trigger_id: str
) -> dict[str, Any]:
    """The view_submission payload of an open modal with `values` ({block_id: {action_id: text}})."""
    state = {
        block_id: {action_id: {"type": "plain_text_input", "value": value} for action_id, value in actions.items()}
        for block_id, actions in values.items()
    }
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": user_of(user, user_name),
        "api_app_id": APP_ID,
        "token": "sandbox-verification-token-unused",
        "trigger_id": trigger_id,
        "view": {**view, "state": {"values": state}},
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def interactive_body(payload: dict[str, Any]) -> str:
    """How Slack sends an interaction: the JSON payload as one form field."""
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


# --- signing and sending ------------------------------------------------------------------------------


def signature(secret: str | bytes, timestamp: str, body: str) -> str:
    """Slack's request signature: `v0=` HMAC-SHA256 of `v0:<timestamp>:<body>` with the signing secret."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "v0=" + hmac.new(key, f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()


def send_signed(
    bot_url: str,
    body: str,
    *,
    secret: str | bytes,
    timestamp: int | None = None,
    signature_override: str | None = None,
    content_type: str = "application/x-www-form-urlencoded",
    headers: dict[str, str] | None = None,
    timeout: float = TIMEOUT,
) -> Reply:
    """POST `body` to the bot's /slack/events, signed as Slack signs it.

    `timestamp` and `signature_override` let a test send what Slack would not (a stale or forged request).
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    request = urllib.request.Request(  # noqa: S310 - the bot's own http URL on loopback
        f"{bot_url.rstrip('/')}/slack/events",
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature_override or signature(secret, ts, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - the bot on loopback
            raw = resp.read()
            return Reply(resp.status, _decode(raw), raw.decode("utf-8", errors="replace"))
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return Reply(exc.code, _decode(raw), raw.decode("utf-8", errors="replace"))


class SlackRequests:
    """Slack's side for the sandbox page: issues trigger ids and response URLs, and remembers whose they are."""

    def __init__(self, *, bot_url: str, signing_secret: str, response_base: str, names: dict[str, str]):
        self.bot_url = bot_url.rstrip("/")
        self._secret = signing_secret.encode()
        self._response_base = response_base.rstrip("/")
        self._names = names
        self._lock = threading.Lock()
        self._triggers: dict[str, str] = {}  # trigger_id -> user
        self._responses: dict[str, ResponseTarget] = {}

    # --- what the page server looks up -----------------------------------------------------------

    def trigger_user(self, trigger_id: str) -> str | None:
        with self._lock:
            return self._triggers.get(trigger_id)

    def response_target(self, key: str) -> ResponseTarget | None:
        with self._lock:
            return self._responses.get(key)

    def _issue(self, user: str, target: ResponseTarget) -> tuple[str, str]:
        trigger = f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        key = secrets.token_urlsafe(18)
        with self._lock:
            self._triggers[trigger] = user
            self._responses[key] = target
        return trigger, f"{self._response_base}/{key}"

    def _name(self, user: str) -> str:
        return self._names.get(user, user.lower())

    # --- the three requests ----------------------------------------------------------------------

    def command(self, *, user: str, channel: str, command: str, text: str) -> Reply:
        trigger, response_url = self._issue(user, ResponseTarget(channel, user))
        form = command_form(
            user=user,
            user_name=self._name(user),
            channel=channel,
            command=command,
            text=text,
            trigger_id=trigger,
            response_url=response_url,
        )
        return self._send(urllib.parse.urlencode(form))

    def click(
        self, *, user: str, channel: str, message: dict[str, Any], block_id: str, button: dict[str, Any]
    ) -> Reply:
        trigger, response_url = self._issue(user, ResponseTarget(channel, user, message["ts"]))
        payload = click_payload(
            user=user,
            user_name=self._name(user),
            channel=channel,
            message=message,
            block_id=block_id,
            button=button,
            trigger_id=trigger,
            response_url=response_url,
        )
        return self._send(interactive_body(payload))

    def view_submission(self, *, user: str, view: dict[str, Any], values: dict[str, dict[str, str]]) -> Reply:
        trigger, _ = self._issue(user, ResponseTarget("", user))
        payload = view_payload(user=user, user_name=self._name(user), view=view, values=values, trigger_id=trigger)
        return self._send(interactive_body(payload))

    def message(self, *, user: str, channel: str, text: str, ts: str, thread_ts: str = "") -> Reply:
        """A person's message, delivered as Slack delivers a `message.channels` event: signed JSON."""
        event = message_event(user=user, channel=channel, text=text, ts=ts, thread_ts=thread_ts)
        return send_signed(self.bot_url, json.dumps(event), secret=self._secret, content_type="application/json")

    def _send(self, body: str) -> Reply:
        return send_signed(self.bot_url, body, secret=self._secret)


def _decode(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return text
