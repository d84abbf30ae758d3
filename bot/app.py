"""Wiring: builds the Bolt app over the services, registers the handlers and the one error handler."""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.response import BoltResponse

from bot.observe.metrics import Metrics
from bot.runtime.requests import socket_envelope
from bot.wiring import Bot
from handlers import register_all

log = logging.getLogger(__name__)


class _TokenFromEnvironmentNote(logging.Filter):
    """Drops Bolt's "`token` will be unused" warning, which the bot's own wiring cannot avoid.

    The bot passes Bolt only `client` (its WebClient, with the API URL and retry handlers Bolt would not
    set). Bolt still reads SLACK_BOT_TOKEN from the environment when no `token` is given, and then warns
    that it ignores it in favour of the client: a note about Bolt's internals, not about the bot's setup.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_BOLT_LOG = logging.getLogger("slack_bolt.App")
_BOLT_LOG.addFilter(_TokenFromEnvironmentNote())


def build_app(bot: Bot, *, socket_mode: bool = False) -> App:
    app = App(
        client=bot.web_client,
        signing_secret=bot.env.slack_signing_secret or None,
        # Socket Mode requests arrive over the authenticated websocket and carry no signature.
        request_verification_enabled=not socket_mode,
        # Slack hears back only when a listener returns. Listeners parse and hand anything that may wait
        # on Slack, AWS or the state store to the answers pool (bot/runtime/answers.py), waiting for it at
        # most its budget, so an acknowledgement stays well under a second; git and AWS changes run on the
        # bake workers. Running listeners inline spares Bolt's 10 ms ack-polling and a thread hop.
        process_before_response=True,
        raise_error_for_unhandled_request=False,
    )

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        log.error("slack.listener_failed type=%s", body.get("type") or body.get("command"), exc_info=error)
        return BoltResponse(status=500, body="")

    @app.middleware
    def acks_first(next: Any) -> Any:  # noqa: A002 - Bolt's name for it
        # While a Slack request is being answered, background work holds back (bot/runtime/foreground.py).
        with bot.services.foreground.request():
            return next()

    register_all(app, bot.services)
    return app


class TimedSocketModeHandler(SocketModeHandler):
    """Bolt's Socket Mode handler, timing each request from its arrival to its acknowledgement being sent
    (`bakery_ack_seconds`, as the WSGI route times /slack/events in HTTP mode). Each envelope is dispatched
    with its id known (bot.runtime.requests): a reconnect may deliver an envelope again, to any of the app's
    connections, and it is then handled once."""

    def __init__(self, app: App, app_token: str | None, *, metrics: Metrics):
        super().__init__(app, app_token=app_token)
        self._metrics = metrics

    def handle(self, client: Any, req: Any) -> None:
        arrived = time.perf_counter()
        try:
            with socket_envelope(str(req.envelope_id or "")):
                super().handle(client, req)
        finally:
            self._metrics.ack(socket_kind(req.type, req.payload), time.perf_counter() - arrived)


def socket_kind(envelope_type: str, payload: Any) -> str:
    """A Socket Mode envelope's kind: slash_commands, interactive (a click or a view) or events_api."""
    if envelope_type == "slash_commands":
        return "command"
    if envelope_type == "interactive":
        kind = payload.get("type") if isinstance(payload, dict) else None
        return "view" if kind in ("view_submission", "view_closed") else "action"
    return "event"
