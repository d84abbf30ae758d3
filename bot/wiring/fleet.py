"""The fleet's wiring (CONTRACT §14): `/bake fleet` and the stale digest (what every target runs, in every
account and region), and `/bake revoke` (its answer names the targets still on the AMI, each with the Roll out
button of the newest good release's bake), over the same adapters, buttons and revocations."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from bot.access.service import Access
from bot.bakes.images import restore_latest
from bot.bakes.service import BakeService
from bot.config import Config
from bot.config.model import Where
from bot.domain.ports import AmiLifecycle, Chat, Fleet, Parameters, StateStore
from bot.fleet.digest import StaleDigest
from bot.fleet.revocations import Revocations
from bot.fleet.revoke import RevokeService
from bot.fleet.view import FleetView
from bot.rollouts.buttons import RolloutButtons
from bot.rollouts.service import RolloutService
from bot.slack.fleet_blocks import digest_message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FleetServices:
    view: FleetView
    digest: StaleDigest
    revoke: RevokeService


def build_fleet(
    *,
    config: Config,
    store: StateStore,
    chat: Chat,
    access: Access,
    revocations: Revocations,
    bakes: BakeService,
    buttons: RolloutButtons,
    rollouts: RolloutService,
    fleet_for: Callable[[Where], Fleet],
    lifecycle_for: Callable[[Where], AmiLifecycle],
    parameters_for: Callable[[Where], Parameters],
    default_region: str,
) -> FleetServices:
    view = FleetView(
        config=config,
        fleet_for=fleet_for,
        lifecycle_for=lifecycle_for,
        revoked=revocations.reason,
        bake_of=bakes.get,
        buttons=buttons,
        rollouts=rollouts.active,
        default_region=default_region,
    )
    digest = StaleDigest(
        config=config,
        view=view,
        store=store,
        chat=chat,
        render=partial(digest_message, stale_after=config.fleet.stale_after, own_account=config.bakery_account),
    )
    revoke = RevokeService(
        config=config,
        access=access,
        revocations=revocations,
        lifecycle_for=lifecycle_for,
        parameters_for=parameters_for,
        fleet_for=fleet_for,
        buttons=buttons,
        bake_of=bakes.get,
        default_region=default_region,
        restore_latest=lambda image, revoked, good: _restore_latest(store, bakes, image, revoked, good),
    )
    return FleetServices(view=view, digest=digest, revoke=revoke)


def _restore_latest(store: StateStore, bakes: BakeService, image: str, revoked: str, good: str) -> bool:
    """A revocation moves the image record's latest bake back from `revoked` to `good` (bot/bakes/images.py)."""
    bake = bakes.get(good)
    moved = bake is not None and restore_latest(store, image, revoked_request=revoked, good=bake)
    log.info("revoke.latest_restored image=%s from=%s to=%s moved=%s", image, revoked, good, moved)
    return moved
