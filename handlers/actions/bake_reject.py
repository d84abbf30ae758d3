"""`bake_reject`: checks the clicker may decide, then asks for the reason in a modal."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.services import Services
from bot.slack import ids
from bot.slack.approval_blocks import reject_modal
from bot.slack.payloads import ButtonClick
from handlers.actions import answer_click


def ask_reason(services: Services, click: ButtonClick) -> None:
    bake, _ = services.approvals.check(user=click.user, key=click.value)
    # The modal must open within Slack's trigger window, so this one Slack call runs here.
    services.chat.open_view(click.trigger_id, reject_modal(click.value, bake.request_id))
    return None  # the modal is the answer


def register(app: App, services: Services) -> None:
    @app.action(ids.BAKE_REJECT)
    def bake_reject(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        answer_click(services, body, ask_reason)
