"""Slack text primitives: escaping outside input for mrkdwn."""

from __future__ import annotations


def escape(text: str) -> str:
    """Slack mrkdwn escaping: user text must not become mentions (<!channel>) or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
