"""Button listeners: ack, parse the click once, call one service after the ack, tell the clicker privately."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.domain.errors import BadRequest
from bot.domain.replies import Deciding, Reply, RolloutApproved, RolloutOpened, RolloutStands
from bot.rollouts.record import RolloutStatus
from bot.runtime.requests import identity_of
from bot.services import Services
from bot.slack.payloads import ButtonClick
from bot.slack.replies import reply_text
from handlers.errors import handled, trouble_of

Run = Callable[[Services, ButtonClick], Reply | None]  # one button's service call: its reply, or None


def answer_click(services: Services, body: dict[str, Any], run: Run) -> None:
    """Run one button's service call and tell the clicker what came of it: its reply, or why nothing happened.

    The call runs on the answers pool, not here: it may wait on Slack (user groups, e-mail addresses), EC2 or
    the state store, and Slack's acknowledgement must not wait with it. A click's acknowledgement carries no
    answer, so nothing is lost by answering privately a moment later.
    """
    try:
        click = ButtonClick.from_payload(body)
    except BadRequest as exc:
        trouble = trouble_of(exc, event="click.malformed")
        where = ButtonClick.who_and_where(body)
        if where is not None:  # else there is no one to answer
            services.tell(channel=where[1], user=where[0], text=reply_text(trouble))
        return

    keys = identity_of(body)

    def once() -> Reply | None:
        # A click Slack delivered again (to this replica or another) changes nothing and is not answered: the
        # first delivery answers the clicker.
        return run(services, click) if services.requests.first(keys) else None

    def answer() -> None:
        reply = handled(once, event="click", user=click.user, action=click.action_id)
        if reply is None or isinstance(reply, Deciding):
            # A decision on its way shows at once on the approval card in the thread ("… telling CodePipeline"),
            # and its outcome is told privately once it is known: one private answer, never "Approving…" beside it.
            return
        services.tell(channel=click.channel, user=click.user, text=lambda: reply_text(as_it_stands(services, reply)))

    services.answers.later(answer)


def as_it_stands(services: Services, reply: Reply) -> Reply:
    """A rollout answer checked against the rollout when it is sent: "it is starting" once it ended is not said."""
    if not isinstance(reply, (RolloutOpened, RolloutApproved)):
        return reply
    rollout = services.rollouts.get(reply.rollout_id)
    waits = isinstance(reply, RolloutOpened) and reply.awaits_approval
    said = RolloutStatus.AWAITING_APPROVAL if waits else RolloutStatus.STARTING
    if rollout is None or rollout.status == said:
        return reply
    return RolloutStands(rollout.rollout_id, rollout.target, rollout.ami_id, rollout.status.value)
