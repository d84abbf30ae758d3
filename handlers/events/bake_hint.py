"""`bake base` typed in a channel without its slash: answered privately with the command it meant.

Bolt acknowledges every `message` event this listener sees (and the app's own, which it drops itself), so
Slack never retries one. Only a person's new message is read: edits, joins, bot posts and other subtypes
are not someone typing a command. A reply in a thread is answered in that thread. The answer waits on
Slack, so it is sent from the answers pool, never before the acknowledgement.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from bot.commands.parser import slashless
from bot.runtime.requests import identity_of
from bot.services import Services
from bot.slack.answers import slashless_hint

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    @app.event("message")
    def typed_without_slash(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("subtype") or event.get("bot_id") or not event.get("user") or not event.get("channel"):
            return
        meant = slashless(str(event.get("text") or ""), services.config.images)
        if meant is None:
            return
        channel, user, thread_ts = str(event["channel"]), str(event["user"]), event.get("thread_ts")
        thread = str(thread_ts) if thread_ts else None
        log.info("message.slashless user=%s channel=%s", user, channel)
        keys = identity_of(body)

        def hint() -> None:
            if services.requests.first(keys):  # an event delivered again is hinted at once, not twice
                services.chat.post_ephemeral(
                    channel=channel,
                    user=user,
                    text=slashless_hint(meant),
                    thread_ts=thread,
                )

        services.answers.later(hint)
