"""The services the Slack handlers and the loops work with, as one typed bundle built by `bot.wiring`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.access.service import Access
from bot.approvals.service import ApprovalService
from bot.bakes.service import BakeService
from bot.commands.dispatch import SlashCommands
from bot.config import Config
from bot.domain.ports import Chat, StateStore
from bot.intake.service import Intake
from bot.lifecycle.gc import GcService
from bot.publishing.publisher import MessagePublisher
from bot.rollouts.service import RolloutService
from bot.runtime.answers import Answers
from bot.runtime.foreground import Foreground
from bot.runtime.requests import RequestIdentities
from bot.runtime.workers import BakeWorkers
from bot.trains.flow import ReleaseFlow
from bot.trains.rebake import Rebakes


@dataclass(frozen=True)
class Services:
    config: Config
    store: StateStore
    chat: Chat
    access: Access
    bakes: BakeService
    approvals: ApprovalService
    rollouts: RolloutService
    slash: SlashCommands
    intake: Intake
    publisher: MessagePublisher
    rollout_publisher: MessagePublisher
    workers: BakeWorkers
    answers: Answers  # listeners' work that may wait on Slack or AWS, off the acknowledgement
    foreground: Foreground
    # The release train (CONTRACT §12): its messages, what a release sets moving, the Rebake buttons.
    train_publisher: MessagePublisher
    release_flow: ReleaseFlow
    rebakes: Rebakes
    requests: RequestIdentities  # each Slack request's identity, claimed once among replicas
    gc: GcService | None = None  # the AMI lifecycle sweep (§14): /bake gc, gc_confirm, the daily chore

    def tell(self, *, channel: str, user: str, text: str | Callable[[], str]) -> None:
        """Answer someone privately, off the Slack listener thread.

        `text` may be a function, worded when the answer is sent rather than when it was decided: the workers
        may send it a while later, and by then the record it speaks of may have moved on. "" sends nothing.
        """

        def send() -> None:
            said = text() if callable(text) else text
            if said:
                self.chat.post_ephemeral(channel=channel, user=user, text=said)

        self.workers.submit(send)
