"""`rollout_cancel`: a deployer stops a rollout; instances already replaced stay replaced."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.domain.replies import RolloutCanceled, RolloutCanceling
from bot.services import Services
from bot.slack import ids
from bot.slack.payloads import ButtonClick
from handlers.actions import answer_click


def cancel(services: Services, click: ButtonClick) -> RolloutCanceled | RolloutCanceling:
    return services.rollouts.cancel(user=click.user, rollout_id=click.value)


def register(app: App, services: Services) -> None:
    @app.action(ids.ROLLOUT_CANCEL)
    def rollout_cancel(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        answer_click(services, body, cancel)
