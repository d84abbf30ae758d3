"""`rollout_start`: a deployer rolls a target onto the AMI of a successful bake."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services
from bot.slack import ids
from handlers.actions import on_click


def register(app: App, services: Services) -> None:
    app.action(ids.ROLLOUT_START)(
        on_click(services, lambda c: services.rollouts.start_from_button(user=c.user, channel=c.channel, key=c.value))
    )
