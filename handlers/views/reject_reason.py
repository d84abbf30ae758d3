"""The reject modal's submission: the reason goes to CodePipeline with the rejection."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App

from bot.domain.errors import BadRequest, BakeryError, NotAllowed, NotFound
from bot.services import Services
from bot.slack import ids
from bot.slack.payloads import ViewSubmission
from bot.slack.replies import refusal_text, reply_text

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    @app.view(ids.REJECT_VIEW)
    def reject_reason(ack: Ack, body: dict[str, Any]) -> None:
        try:
            form = ViewSubmission.from_payload(body)
        except BadRequest as exc:
            ack(response_action="errors", errors={ids.REJECT_REASON_BLOCK: str(exc)})
            return
        reason = form.values.get(f"{ids.REJECT_REASON_BLOCK}.{ids.REJECT_REASON_INPUT}", "")
        try:
            reply = services.approvals.decide(user=form.user, key=form.key, approve=False, reason=reason)
        except (BadRequest, NotAllowed, NotFound) as exc:
            log.info("reject.refused user=%s reason=%s", form.user, exc)
            ack(response_action="errors", errors={ids.REJECT_REASON_BLOCK: refusal_text(exc)[:150]})
            return
        except BakeryError as exc:
            log.exception("reject.failed user=%s", form.user)
            ack(response_action="errors", errors={ids.REJECT_REASON_BLOCK: f"That did not work: {exc}"[:150]})
            return
        ack()
        bake = services.approvals.bake_of(form.key)
        if bake is not None:
            services.tell(channel=bake.channel, user=form.user, text=reply_text(reply))
