"""Slack listeners: thin — ack, parse once, one service call, render."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services
from handlers.actions import bake_approve, bake_reject, rollout_controls, rollout_start
from handlers.commands import bake
from handlers.views import reject_reason


def register_all(app: App, services: Services) -> None:
    for module in (bake, bake_approve, bake_reject, rollout_start, rollout_controls, reject_reason):
        module.register(app, services)
