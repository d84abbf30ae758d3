"""`bake_approve`: an approver approves a bake's manual approval."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services
from bot.slack import ids
from handlers.actions import on_click


def register(app: App, services: Services) -> None:
    app.action(ids.BAKE_APPROVE)(
        on_click(services, lambda c: services.approvals.decide(user=c.user, key=c.value, approve=True))
    )
