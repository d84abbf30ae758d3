"""The lifecycle sweep's wiring (§14): the surveyor over the adapters, the sweep with the image locks, and the
`/bake gc` service that posts each sweep's report to the default channel; also what `bakery gc` runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.access.service import Access
from bot.bakes.record import ACTIVE, BAKE, Bake
from bot.config import Config
from bot.domain.ports import Chat, StateStore
from bot.fleet.revocations import Revocations
from bot.lifecycle.gc import GcService
from bot.lifecycle.locks import ImageLocks
from bot.lifecycle.report import SweepReport
from bot.lifecycle.survey import Surveyor
from bot.lifecycle.sweep import LifecycleSweep
from bot.rollouts.book import RolloutBook
from bot.rollouts.record import Rollout
from bot.slack.gc_blocks import sweep_message
from bot.wiring.adapters import Adapters


def build_sweep(
    *,
    config: Config,
    store: StateStore,
    aws: Adapters,
    default_region: str,
    in_flight: Callable[[], Sequence[Bake]] | None = None,
    active_rollouts: Callable[[], Sequence[Rollout]] | None = None,
) -> LifecycleSweep:
    """The sweep over every account and region the configuration reaches; the bakes and rollouts from the store
    unless the bot's own services are given."""
    surveyor = Surveyor(
        config=config,
        lifecycle_for=aws.lifecycle_for,
        parameters_for=aws.parameters_for,
        in_flight=in_flight or (lambda: bakes_in_flight(store)),
        active_rollouts=active_rollouts or RolloutBook(store=store, board=None).active,
        revoked=lambda: {r.ami_id for r in Revocations(store).all()},
        default_region=default_region,
        store=store,
    )
    return LifecycleSweep(config=config, surveyor=surveyor, locks=ImageLocks(store))


def build_gc(
    *, config: Config, store: StateStore, access: Access, chat: Chat, sweep: LifecycleSweep, replica: str = "bot"
) -> GcService:
    def post(report: SweepReport) -> None:
        text, blocks = sweep_message(report, config.bakery_account)
        chat.post(channel=config.channel, text=text, blocks=blocks)

    return GcService(config=config, store=store, access=access, sweep=sweep, post_report=post, replica=replica)


def bakes_in_flight(store: StateStore) -> list[Bake]:
    """The bakes not yet ended, read from the store (what BakeService.in_flight answers, without the service)."""
    bakes = (Bake.from_doc(r.doc) for r in store.find(BAKE, ACTIVE))
    return [b for b in bakes if not b.terminal]
