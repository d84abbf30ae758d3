"""`rollout_start`: a deployer rolls a target onto the AMI of a successful bake."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.domain.replies import RolloutOpened
from bot.services import Services
from bot.slack import ids
from bot.slack.payloads import ButtonClick
from handlers.actions import answer_click


def start(services: Services, click: ButtonClick) -> RolloutOpened:
    return services.rollouts.start_from_button(user=click.user, channel=click.channel, key=click.value)


def register(app: App, services: Services) -> None:
    @app.action(ids.ROLLOUT_START)
    def rollout_start(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        answer_click(services, body, start)
