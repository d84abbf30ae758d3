"""The release train's wiring (CONTRACT §12): the door automatic bakes go through, what a release sets
moving, the Rebake <child> clicks and the upstream watch, over the bake and rollout services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

from bot.access.service import Access
from bot.bakes.record import Bake
from bot.bakes.service import BakeService
from bot.config import Config
from bot.config.model import Where
from bot.domain.ports import Images, Parameters, StateStore
from bot.trains.auto import AutoBakes
from bot.trains.book import TrainBook
from bot.trains.distribution import AmiCopier, Distributions
from bot.trains.flow import ReleaseFlow, TrainAutoBakes
from bot.trains.rebake import RebakeOffers, Rebakes
from bot.trains.rolling import RolloutOpener
from bot.trains.upstream import UpstreamWatch


class _TrainParts(TypedDict):
    """What the release flow and the Rebake clicks share: one train book, one door, one set of offers."""

    config: Config
    store: StateStore
    trains: TrainBook
    auto: AutoBakes
    offers: RebakeOffers
    mark_bake_dirty: Callable[[str], None]


@dataclass(frozen=True)
class TrainServices:
    release_flow: ReleaseFlow
    rebakes: Rebakes
    upstream: UpstreamWatch
    distributions: Distributions


def build_trains(
    *,
    config: Config,
    store: StateStore,
    access: Access,
    bakes: BakeService,
    rollouts: Callable[[], RolloutOpener],
    trains: TrainBook,
    offers: RebakeOffers,
    mark_bake_dirty: Callable[[str], None],
    parameters_for: Callable[[Where], Parameters],
    images_for: Callable[[Where], Images],
    copier_for: Callable[[Where], AmiCopier],
    ami_key_alias: str,
    run_async: Callable[[Callable[[], None]], None],
    retry_first: float = 60.0,
    revoked: Callable[[str], bool] = lambda ami_id: False,  # §14: no child bake or train rollout on a revoked AMI
) -> TrainServices:
    # The bake service opens automatic bakes; the train's door adds each as a hop of its train.
    auto = TrainAutoBakes(config=config, store=store, inner=bakes, trains=trains)
    shared = _TrainParts(
        config=config, store=store, trains=trains, auto=auto, offers=offers, mark_bake_dirty=mark_bake_dirty
    )
    # The upstream watch: a topic message checks at once (the intake), the housekeeping every check_every.
    upstream = UpstreamWatch(
        config=config,
        bakes=bakes,
        auto=auto,  # through the train: an upstream move is the root of a train
        parameters_for=parameters_for,
        images_for=images_for,
    )
    # §13 share_with: a release's copies and shares, advanced by a chore; once done, the release follows on a
    # worker (children commit to git, targets roll), never on the chore's thread.
    distributions = Distributions(
        config=config, store=store, trains=trains, copier_for=copier_for, mutate_bake=bakes.mutate,
        key_alias=ami_key_alias, retry_first=retry_first,
    )  # fmt: skip
    release_flow = ReleaseFlow(**shared, rollouts=rollouts, distributions=distributions, revoked=revoked)

    def follow(bake: Bake) -> None:
        run_async(lambda: release_flow.released(bake))

    distributions.on_done = follow
    return TrainServices(
        release_flow=release_flow,
        rebakes=Rebakes(**shared, access=access),
        upstream=upstream,
        distributions=distributions,
    )
