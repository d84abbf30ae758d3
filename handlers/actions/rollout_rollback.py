"""`rollout_rollback`: a deployer returns a running rollout's replaced instances to the previous version."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.domain.replies import RolloutRollingBack
from bot.services import Services
from bot.slack import ids
from bot.slack.payloads import ButtonClick
from handlers.actions import answer_click


def rollback(services: Services, click: ButtonClick) -> RolloutRollingBack:
    return services.rollouts.rollback(user=click.user, rollout_id=click.value)


def register(app: App, services: Services) -> None:
    @app.action(ids.ROLLOUT_ROLLBACK)
    def rollout_rollback(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        answer_click(services, body, rollback)
