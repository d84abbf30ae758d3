"""Button listeners: ack, parse the click once, call one service, tell the clicker privately."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot.domain.errors import BadRequest, BakeryError, NotAllowed, NotFound
from bot.domain.replies import Failed, Refused, Reply
from bot.services import Services
from bot.slack.payloads import ButtonClick
from bot.slack.replies import reply_text

log = logging.getLogger(__name__)


def on_click(services: Services, run: Callable[[ButtonClick], Reply | None]) -> Callable[..., None]:
    """A listener that answers every click: the service's reply, or why nothing happened."""

    def listener(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        try:
            click = ButtonClick.from_payload(body)
        except BadRequest as exc:
            log.info("click.malformed reason=%s", exc)
            where = ButtonClick.who_and_where(body)
            if where is not None:  # else there is no one to answer
                services.tell(channel=where[1], user=where[0], text=reply_text(Refused(exc)))
            return
        reply: Reply | None
        try:
            reply = run(click)
        except (BadRequest, NotAllowed, NotFound) as exc:
            log.info("click.refused user=%s action=%s reason=%s", click.user, click.action_id, exc)
            reply = Refused(exc)
        except BakeryError as exc:
            log.exception("click.failed user=%s action=%s", click.user, click.action_id)
            reply = Failed(exc)
        if reply is not None:
            services.tell(channel=click.channel, user=click.user, text=reply_text(reply))

    return listener
