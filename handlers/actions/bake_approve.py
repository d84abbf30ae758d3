"""`bake_approve`: an approver approves a bake's manual approval."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.domain.replies import Deciding
from bot.services import Services
from bot.slack import ids
from bot.slack.payloads import ButtonClick
from handlers.actions import answer_click


def approve(services: Services, click: ButtonClick) -> Deciding:
    return services.approvals.decide(user=click.user, key=click.value, approve=True)


def register(app: App, services: Services) -> None:
    @app.action(ids.BAKE_APPROVE)
    def bake_approve(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        answer_click(services, body, approve)
