"""`/bake`: answered privately within Slack's 3 seconds; slow work (git, AWS) runs on the bake workers."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.domain.errors import BadRequest
from bot.domain.replies import Refused
from bot.services import Services
from bot.slack.answers import answer_message
from bot.slack.payloads import SlashInvocation


def register(app: App, services: Services) -> None:
    @app.command("/bake")
    def bake_command(ack: Ack, command: dict[str, Any]) -> None:
        try:
            invocation = SlashInvocation.from_payload(command)
        except BadRequest as exc:
            text, _ = answer_message(Refused(exc))
            ack(response_type="ephemeral", text=text)
            return
        answer = services.slash.run(user=invocation.user, channel=invocation.channel, text=invocation.text)
        text, blocks = answer_message(answer)
        ack(response_type="ephemeral", text=text, blocks=blocks)
