"""`/bake`: answered privately within Slack's 3 seconds; slow work (git, AWS) runs on the bake workers.

The answer rides on the acknowledgement when it is ready within the answers pool's budget. When it needs
longer (a slow EC2 or Slack call behind a check), the acknowledgement says so and the answer follows
through the command's response_url. An answer that is everyone's news (a revocation, §14) is also posted in the
channel, from the same off-listener work; when Slack refuses that post, the whole answer comes privately.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App

from bot.commands.answers import Answer
from bot.domain.errors import BadRequest, ChatError
from bot.fleet.revoke_facts import Revoked
from bot.runtime.requests import identity_of
from bot.services import Services
from bot.slack.answers import answer_message, in_channel
from bot.slack.bake_blocks import ephemeral
from bot.slack.payloads import SlashInvocation
from bot.slack.text import STILL_CHECKING
from handlers.errors import handled, trouble_of

log = logging.getLogger(__name__)

ALREADY_RECEIVED = "This command was already received; it is answered once."


def register(app: App, services: Services) -> None:
    @app.command("/bake")
    def bake_command(ack: Ack, command: dict[str, Any]) -> None:
        try:
            invocation = SlashInvocation.from_payload(command)
        except BadRequest as exc:
            text, _ = answer_message(trouble_of(exc, event="command.malformed"))
            ack(response_type="ephemeral", text=text)
            return

        def announced(answer: Answer) -> Answer:
            public = in_channel(answer)
            if public is None:
                return answer
            channel, text, blocks = public
            try:
                services.chat.post(channel=channel, text=text, blocks=blocks)
            except ChatError as exc:
                log.warning("command.not_posted channel=%s error=%s", channel, exc)
                return replace(answer, channel="") if isinstance(answer, Revoked) else answer
            return answer

        keys = identity_of(command)

        def run() -> Answer:
            if not services.requests.first(keys):
                # Slack delivered this command again (a retry, a Socket Mode redelivery), maybe to another
                # replica: nothing is done twice. Said briefly, since this answer may be the one Slack shows.
                raise BadRequest(ALREADY_RECEIVED)
            return announced(services.slash.run(user=invocation.user, channel=invocation.channel, text=invocation.text))

        def answer() -> Answer:
            return handled(run, event="command", user=invocation.user)

        def answer_late(late: Answer) -> None:
            text, blocks = answer_message(late)
            if invocation.response_url:
                services.chat.respond(invocation.response_url, text=text, blocks=blocks)
            else:  # a payload without one (not Slack's own): still answer privately where it was typed
                services.chat.post_ephemeral(channel=invocation.channel, user=invocation.user, text=text, blocks=blocks)

        now = services.answers.within(answer, answer_late)
        text, blocks = answer_message(now) if now is not None else (STILL_CHECKING, ephemeral(STILL_CHECKING))
        ack(response_type="ephemeral", text=text, blocks=blocks)
