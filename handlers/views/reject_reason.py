"""The reject modal's submission: the reason goes to CodePipeline with the rejection."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.domain.errors import BadRequest
from bot.domain.replies import Deciding, Failed, Refused
from bot.runtime.requests import identity_of
from bot.services import Services
from bot.slack import ids
from bot.slack.payloads import ViewSubmission
from bot.slack.replies import reply_text, trouble_sentence
from handlers.errors import handled, trouble_of

MAX_ERROR = 150  # Slack shows at most this much of an input's error


def register(app: App, services: Services) -> None:
    @app.view(ids.REJECT_VIEW)
    def reject_reason(ack: Ack, body: dict[str, Any]) -> None:
        try:
            form = ViewSubmission.from_payload(body)
        except BadRequest as exc:
            trouble = trouble_of(exc, event="reject.malformed")
            ack(response_action="errors", errors={ids.REJECT_REASON_BLOCK: trouble_sentence(trouble)[:MAX_ERROR]})
            return
        reason = form.values.get(f"{ids.REJECT_REASON_BLOCK}.{ids.REJECT_REASON_INPUT}", "")

        def tell(reply: Deciding | Refused | Failed) -> None:
            bake = services.approvals.bake_of(form.key)
            if bake is not None:  # else the form named no approval: there is no channel to answer in
                services.tell(channel=bake.channel, user=form.user, text=reply_text(reply))

        keys = identity_of(body)

        def once() -> Deciding | None:
            # A submission Slack delivered again changes nothing and is not answered (None): the first is.
            if not services.requests.first(keys):
                return None
            return services.approvals.decide(user=form.user, key=form.key, approve=False, reason=reason)

        def decide() -> Deciding | Refused | Failed | None:
            # A rejection on its way is not told privately: the approval card in the thread shows it at once,
            # and the outcome follows privately once CodePipeline took it (one private answer, not two).
            return handled(once, event="reject", user=form.user)

        def told_late(reply: Deciding | Refused | Failed | None) -> None:
            # The modal has closed by now, so a refusal goes to the person privately instead.
            if isinstance(reply, (Refused, Failed)):
                tell(reply)

        reply = services.answers.within(decide, told_late)
        if isinstance(reply, (Refused, Failed)):
            ack(response_action="errors", errors={ids.REJECT_REASON_BLOCK: trouble_sentence(reply)[:MAX_ERROR]})
        else:
            ack()  # deciding: the outcome follows privately
