"""`bake_children`: a baker rebakes a child image on the AMI its parent just released (CONTRACT §12)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.domain.replies import ChildRebaking
from bot.services import Services
from bot.slack import ids
from bot.slack.payloads import ButtonClick
from handlers.actions import answer_click


def rebake(services: Services, click: ButtonClick) -> ChildRebaking:
    return services.rebakes.rebake(user=click.user, key=click.value)


def register(app: App, services: Services) -> None:
    @app.action(ids.BAKE_CHILDREN)
    def bake_children(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        answer_click(services, body, rebake)
