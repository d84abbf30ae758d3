"""`bake_approve`: an approver approves a bake's manual approval."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.slack import ids
from handlers.actions import on_click


def register(app: App, services: Any) -> None:
    app.action(ids.BAKE_APPROVE)(
        on_click(services, lambda c: services.approvals.decide(user=c.user, key=c.value, approve=True).text)
    )
