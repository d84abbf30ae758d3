"""Slack listeners: thin — ack, parse once, one service call, render."""

from __future__ import annotations

from typing import Any

from slack_bolt import App


def register_all(app: App, services: Any) -> None:
    from handlers.commands import bake

    bake.register(app, services)
