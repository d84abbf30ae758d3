"""`gc_confirm`: an approver runs the lifecycle sweep `/bake gc` showed them (§14)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.domain.errors import BadRequest
from bot.domain.replies import GcSwept
from bot.services import Services
from bot.slack import ids
from bot.slack.payloads import ButtonClick
from handlers.actions import answer_click


def confirm(services: Services, click: ButtonClick) -> GcSwept:
    if services.gc is None:
        raise BadRequest("The AMI lifecycle sweep is not enabled on this bot.")
    return services.gc.confirm(user=click.user, key=click.value)


def register(app: App, services: Services) -> None:
    @app.action(ids.GC_CONFIRM)
    def gc_confirm(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        answer_click(services, body, confirm)
