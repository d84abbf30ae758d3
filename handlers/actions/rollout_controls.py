"""`rollout_approve`, `rollout_cancel`, `rollout_rollback`: the buttons on a rollout's message."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services
from bot.slack import ids
from handlers.actions import on_click


def register(app: App, services: Services) -> None:
    rollouts = services.rollouts
    app.action(ids.ROLLOUT_APPROVE)(on_click(services, lambda c: rollouts.approve(user=c.user, rollout_id=c.value)))
    app.action(ids.ROLLOUT_CANCEL)(on_click(services, lambda c: rollouts.cancel(user=c.user, rollout_id=c.value)))
    app.action(ids.ROLLOUT_ROLLBACK)(on_click(services, lambda c: rollouts.rollback(user=c.user, rollout_id=c.value)))
