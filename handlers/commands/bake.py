"""`/bake`: answered privately within Slack's 3 seconds; slow work (git, AWS) runs on the bake workers."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.domain.errors import BadRequest
from bot.services import Services
from bot.slack.answers import answer_message
from bot.slack.payloads import SlashInvocation
from handlers.errors import handled, trouble_of


def register(app: App, services: Services) -> None:
    @app.command("/bake")
    def bake_command(ack: Ack, command: dict[str, Any]) -> None:
        try:
            invocation = SlashInvocation.from_payload(command)
        except BadRequest as exc:
            text, _ = answer_message(trouble_of(exc, event="command.malformed"))
            ack(response_type="ephemeral", text=text)
            return
        answer = handled(
            lambda: services.slash.run(user=invocation.user, channel=invocation.channel, text=invocation.text),
            event="command",
            user=invocation.user,
        )
        text, blocks = answer_message(answer)
        ack(response_type="ephemeral", text=text, blocks=blocks)
