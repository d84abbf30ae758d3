"""The publishers and what redraws what: a bake's, a rollout's and a train's message, each through the one
coalescing publisher, and the after-publish hooks that mark the messages a change also shows in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.bakes.record import Bake
from bot.config import Config
from bot.domain.links import Links
from bot.domain.ports import Chat, StateStore
from bot.domain.times import iso, utc_now
from bot.observe.metrics import Metrics
from bot.publishing.publisher import BAKES, MessagePublisher, Surface
from bot.rollouts.book import now_runs, rollouts_of_bake, target_runs
from bot.rollouts.buttons import RolloutButtons
from bot.rollouts.record import Rollout, RolloutStatus, rollout_index
from bot.rollouts.service import ROLLOUT
from bot.runtime.foreground import Foreground
from bot.slack.bake_blocks import bake_message, bake_replies
from bot.slack.notices import notice_text
from bot.slack.rollout_blocks import rollout_message
from bot.slack.train_blocks import rebake_replies, train_message
from bot.trains.book import TrainBook, load_view
from bot.trains.rebake import RebakeOffers
from bot.trains.record import TRAIN, Train, train_index
from bot.wiring.observing import finished

Blocks = list[dict[str, Any]]


@dataclass(frozen=True)
class Publishers:
    """The three publishers, and the train records and Rebake offers their messages are drawn from."""

    bakes: MessagePublisher
    rollouts: MessagePublisher
    trains: MessagePublisher
    train_book: TrainBook
    offers: RebakeOffers


def build_publishers(
    *,
    config: Config,
    store: StateStore,
    chat: Chat,
    foreground: Foreground,
    buttons: RolloutButtons,
    approvers: str,
    default_region: str,
    min_interval: float,
    poll_every: float,
    links: Links,  # a bake's execution and commit links
    train_links: Links,  # a train's links to its hops' messages (the workspace's, or the sandbox's page)
    metrics: Metrics,
) -> Publishers:
    counted = {BAKES.kind: "bakes", ROLLOUT: "rollouts", TRAIN: "trains"}

    def publisher_of(
        surface: Surface, render: Callable[[Any], Any], after: Callable[[Any], None] = lambda r: None
    ) -> MessagePublisher:
        return MessagePublisher(
            store=store,
            chat=chat,
            render=render,
            notice_text=notice_text,
            surface=surface,
            min_interval=min_interval,
            poll_every=poll_every,
            before_publish=foreground.wait_quiet,
            after_publish=after,
            on_settled=finished(metrics, counted[surface.kind]),  # bakery_<kind>_finished_total
        )

    def render_bake(bake: Bake) -> tuple[str, Blocks]:
        # Pure rendering over what the store holds now: the bake, its rollouts, and what their targets run now.
        image = config.images.get(bake.image)
        region = (image.region if image else None) or default_region
        rollouts = tuple(rollouts_of_bake(store, bake.request_id))
        runs = {t: r for t in {r.target for r in rollouts} if (r := target_runs(store, t)) is not None}
        targets = buttons.targets_of(bake, rolled={r.target for r in rollouts})
        own = config.bakery_account
        return bake_message(
            bake, region=region, targets=targets, rollouts=rollouts, runs=runs, own_account=own, links=links
        )

    # The release train (CONTRACT §12): its own messages, and the Rebake <child> buttons in a bake's thread.
    train_publisher = publisher_of(
        Surface(kind=TRAIN, load=Train.from_doc, index_fn=train_index),
        lambda t: train_message(
            load_view(store, t), now=iso(utc_now()), links=train_links, own_account=config.bakery_account
        ),
        lambda t: trains.finish_if_done(t),
    )
    trains = TrainBook(store=store, board=train_publisher)
    offers = RebakeOffers(config=config, store=store)

    def bake_thread(b: Bake) -> list[tuple[str, str, Blocks]]:
        return bake_replies(b, approvers=approvers) + rebake_replies(b.request_id, offers.of_bake(b))

    def redraw_its_train(record: Bake | Rollout) -> None:
        if record.train_id:
            train_publisher.mark_dirty(record.train_id)

    publisher = publisher_of(replace(BAKES, replies=bake_thread), render_bake, redraw_its_train)

    def redraw_its_bake(rollout: Rollout) -> None:
        """A bake's message tells of its rollouts: redraw it (unchanged words cost no Slack call). A success
        also changes what its target runs, so the bake whose AMI it replaced stops saying it runs there."""
        runs = now_runs(store, rollout) if rollout.status == RolloutStatus.SUCCEEDED else None
        if runs is not None and runs.rollout_id == rollout.rollout_id and runs.replaced_request_id:
            publisher.mark_dirty(runs.replaced_request_id)
        if rollout.request_id:
            publisher.mark_dirty(rollout.request_id)
        redraw_its_train(rollout)

    rollout_publisher = publisher_of(
        Surface(kind=ROLLOUT, load=Rollout.from_doc, index_fn=rollout_index),
        lambda r: rollout_message(r, approvers=approvers),
        redraw_its_bake,
    )
    return Publishers(
        bakes=publisher, rollouts=rollout_publisher, trains=train_publisher, train_book=trains, offers=offers
    )
