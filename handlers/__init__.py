"""Slack listeners: thin — ack, parse once, one service call, render."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services
from handlers.actions import (
    bake_approve,
    bake_children,
    bake_reject,
    gc_confirm,
    rollout_approve,
    rollout_cancel,
    rollout_rollback,
    rollout_start,
)
from handlers.commands import bake
from handlers.events import bake_hint
from handlers.views import reject_reason

LISTENERS = (
    bake,
    bake_hint,
    bake_approve,
    bake_reject,
    rollout_start,
    rollout_approve,
    rollout_cancel,
    rollout_rollback,
    bake_children,
    gc_confirm,
)


def register_all(app: App, services: Services) -> None:
    for module in (*LISTENERS, reject_reason):
        module.register(app, services)
