"""`bake_reject`: asks for the reason in a modal, once the clicker may decide."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.domain.errors import BakeryError
from bot.services import Services
from bot.slack import ids
from bot.slack.approval_blocks import reject_modal, reject_refused_modal
from bot.slack.payloads import ButtonClick
from bot.slack.replies import trouble_sentence
from handlers.actions import answer_click
from handlers.errors import trouble_of


def ask_reason(services: Services, click: ButtonClick) -> None:
    bake, _ = services.approvals.check_open(key=click.value)
    # The trigger id is good for 3 seconds from the click, and who may decide can take Slack longer to say
    # (user groups, e-mail addresses): so the modal opens on the bot's own records, and the rest is checked
    # after. The submission decides through `decide`, which checks everything again.
    view_id = services.chat.open_view(click.trigger_id, reject_modal(click.value, bake.request_id))
    try:
        services.approvals.check(user=click.user, key=click.value)
    except BakeryError as exc:
        trouble = trouble_of(exc, event="reject.check", user=click.user)
        services.chat.update_view(view_id, reject_refused_modal(click.value, trouble_sentence(trouble)))
    return None  # the modal is the answer


def register(app: App, services: Services) -> None:
    @app.action(ids.BAKE_REJECT)
    def bake_reject(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        answer_click(services, body, ask_reason)
