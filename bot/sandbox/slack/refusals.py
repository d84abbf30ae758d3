"""How the Slack stand-in refuses a Web API call, and reads the arguments it refuses on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class SlackRefusal(Exception):
    """A Web API call Slack would answer with `ok: false` and this error code."""

    def __init__(self, error: str, messages: list[str] | None = None):
        super().__init__(error)
        self.error = error
        self.messages = list(messages or [])


def arg(args: Mapping[str, Any], name: str) -> str:
    """An argument as text; a missing one is empty, as Slack treats it."""
    value = args.get(name)
    return "" if value is None else str(value)
