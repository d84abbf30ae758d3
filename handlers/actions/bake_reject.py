"""`bake_reject`: checks the clicker may decide, then asks for the reason in a modal."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services
from bot.slack import ids
from bot.slack.approval_blocks import reject_modal
from bot.slack.payloads import ButtonClick
from handlers.actions import on_click


def register(app: App, services: Services) -> None:
    def ask_reason(click: ButtonClick) -> None:
        bake, _ = services.approvals.check(user=click.user, key=click.value)
        # The modal must open within Slack's trigger window, so this one Slack call runs here.
        services.chat.open_view(click.trigger_id, reject_modal(click.value, bake.request_id))
        return None  # the modal is the answer

    app.action(ids.BAKE_REJECT)(on_click(services, ask_reason))
