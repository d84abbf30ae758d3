"""`rollout_approve`: an approver lets a gated rollout start (someone other than who asked)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.domain.replies import RolloutApproved
from bot.services import Services
from bot.slack import ids
from bot.slack.payloads import ButtonClick
from handlers.actions import answer_click


def approve(services: Services, click: ButtonClick) -> RolloutApproved:
    return services.rollouts.approve(user=click.user, rollout_id=click.value)


def register(app: App, services: Services) -> None:
    @app.action(ids.ROLLOUT_APPROVE)
    def rollout_approve(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        answer_click(services, body, approve)
