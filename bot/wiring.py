"""Wiring: builds every service and adapter from the configuration and the environment, once, in order.

Nothing here runs anything; `bot.runtime.runner.Runtime` runs the loops. Each object is built after
everything it needs, so no object is patched after construction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import boto3
from slack_sdk import WebClient

from bot.access.service import Access
from bot.adapters.aws.autoscaling import Fleet
from bot.adapters.aws.build_leftovers import Ec2BuildLeftovers
from bot.adapters.aws.codepipeline import CodePipelineApi
from bot.adapters.aws.ec2_images import Ec2Images
from bot.adapters.aws.sns_http import SnsEndpoint
from bot.adapters.aws.sns_verify import SnsVerifier, fetch_certificate
from bot.adapters.aws.sqs import SqsConsumer, region_of_queue
from bot.adapters.aws.ssm_parameters import SsmParameters
from bot.adapters.repos import open_repo
from bot.adapters.slack_chat import SlackChat, make_web_client
from bot.approvals.service import ApprovalService
from bot.bakes.record import Bake
from bot.bakes.service import BakeService
from bot.commands.dispatch import SlashCommands
from bot.config import Config, Environment, ImageConfig
from bot.config.environment import DEFAULT_BUILD_TIMEOUT_MINUTES
from bot.domain.links import CONSOLE, Links
from bot.domain.models import ApprovalRequest, BakeRequest, CommitInfo, Notification
from bot.domain.ports import SourceRepo
from bot.domain.times import iso, utc_now
from bot.intake.service import Intake
from bot.publishing.publisher import BAKES, MessagePublisher, Surface
from bot.rollouts.book import now_runs, rollouts_of_bake, target_runs
from bot.rollouts.buttons import RolloutButtons
from bot.rollouts.record import Rollout, RolloutStatus, rollout_index
from bot.rollouts.service import ROLLOUT, RolloutService
from bot.runtime.answers import BUDGET_SECONDS, Answers
from bot.runtime.foreground import Foreground
from bot.runtime.housekeeping import Chore, Housekeeping
from bot.runtime.leak_sweep import LeakSweep
from bot.runtime.runner import Runtime
from bot.runtime.workers import BakeWorkers
from bot.services import Services
from bot.slack.bake_blocks import bake_message, bake_replies
from bot.slack.notices import notice_text
from bot.slack.replies import reply_text
from bot.slack.rollout_blocks import rollout_message
from bot.slack.train_blocks import rebake_replies, train_message
from bot.state import open_store
from bot.trains.book import TrainBook, load_view
from bot.trains.flow import ReleaseFlow, TrainAutoBakes
from bot.trains.rebake import RebakeOffers, Rebakes
from bot.trains.record import TRAIN, Train, train_index
from bot.trains.upstream import UpstreamWatch


@dataclass
class Options:
    """Knobs the CLI and tests may turn; production uses the defaults."""

    publish_interval: float = 1.0
    sqs_wait_seconds: int = 20
    sqs_idle_pause: float = 1.0  # between short polls (sqs_wait_seconds=0) of an empty queue
    bake_workers: int = 4
    cert_fetcher: Callable[[str], bytes] = fetch_certificate
    subscribe_confirmer: Callable[[str], None] | None = None
    rollout_poll_interval: float = 10.0  # describe_instance_refreshes at most this often per rollout
    housekeeping_tick: float = 1.0  # how often housekeeping wakes to see which chores are due
    approval_sweep_every: float = 30.0  # closing approvals whose deadline passed
    message_id_sweep_every: float = 3600.0  # forgetting SNS message ids older than three days
    leak_sweep_every: float = 900.0  # removing what killed builds left (older than BAKERY_BUILD_TIMEOUT_MINUTES)
    leak_sweep_delay: float = 120.0  # the first sweep: not while the bot starts (nothing it finds is urgent)
    answer_budget: float = BUDGET_SECONDS  # how long a listener waits for an answer to ride on its ack
    links: Links = CONSOLE  # where execution and commit links lead: the AWS console, or the sandbox's views


@dataclass(frozen=True)
class Bot:
    """Everything `bakery serve` and `bakery socket` run: the services, their loops, and the edges."""

    env: Environment
    web_client: WebClient
    services: Services
    runtime: Runtime
    sns: SnsEndpoint
    sqs: SqsConsumer | None

    def start(self) -> None:
        self.runtime.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.runtime.stop(timeout)

    def health(self) -> dict[str, Any]:
        return self.runtime.health()


class _Clients:
    """One boto3 client per (service, region), made on first use and shared by every thread."""

    def __init__(self, session: boto3.Session, default_region: str | None):
        self._session = session
        self._default_region = default_region
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str, region: str | None) -> Any:
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                self._clients[key] = self._session.client(service, region_name=region or self._default_region)
            return self._clients[key]


class LinkedRepo:
    """A SourceRepo whose commit links are `links`' (the sandbox's commit view), the rest its repository's."""

    def __init__(self, repo: SourceRepo, image: str, links: Links):
        self._repo, self._image, self._links = repo, image, links

    def commit_request(self, request: BakeRequest, path: str = "") -> str:
        return self._repo.commit_request(request, path)

    def commit_info(self, commit_id: str) -> CommitInfo | None:
        return self._repo.commit_info(commit_id)

    def inputs_tree(self, path: str = "") -> str:
        return self._repo.inputs_tree(path)

    def commit_url(self, commit_id: str) -> str:
        return self._links.commit(image=self._image, commit_id=commit_id, default=self._repo.commit_url(commit_id))


def build_bot(
    config: Config,
    env: Environment,
    *,
    options: Options | None = None,
    session: boto3.Session | None = None,
    web_client: WebClient | None = None,
) -> Bot:
    opts = options or Options()
    # Endpoints come from the standard AWS variables (AWS_ENDPOINT_URL…): the bot never overrides them.
    session = session or boto3.Session(region_name=env.aws_region or None)
    client = _Clients(session, env.aws_region or None)
    store = open_store(
        backend=config.state.backend, path=config.state.path, table=config.state.table, session_factory=lambda: session
    )
    web_client = web_client or make_web_client(env.slack_bot_token, env.slack_api_url)
    chat = SlackChat(web_client)
    # Message links: the sandbox's page, else the workspace auth.test names (read once, on the first link).
    links = opts.links if opts.links.local else replace(opts.links, workspace_url=chat.workspace_url)
    access = Access(config.access, chat)
    default_region = env.aws_region or session.region_name or ""
    foreground = Foreground()
    workers = BakeWorkers(workers=opts.bake_workers, foreground=foreground)
    buttons = RolloutButtons(config=config, store=store)
    approvers = access.describe("approvers")

    def render_bake(bake: Bake) -> tuple[str, list[dict[str, Any]]]:
        # Pure rendering over what the store holds now: the bake, its rollouts, and what their targets run now.
        image = config.images.get(bake.image)
        region = (image.region if image else None) or default_region
        rollouts = tuple(rollouts_of_bake(store, bake.request_id))
        runs = {t: r for t in {r.target for r in rollouts} if (r := target_runs(store, t)) is not None}
        targets = buttons.targets_of(bake)
        return bake_message(bake, region=region, targets=targets, rollouts=rollouts, runs=runs, links=opts.links)

    def publisher_of(
        surface: Surface, render: Callable[[Any], Any], after: Callable[[Any], None] = lambda r: None
    ) -> MessagePublisher:
        return MessagePublisher(
            store=store,
            chat=chat,
            render=render,
            notice_text=notice_text,
            surface=surface,
            min_interval=opts.publish_interval,
            before_publish=foreground.wait_quiet,
            after_publish=after,
        )

    # The release train (CONTRACT §12): its own messages, and the Rebake <child> buttons in a bake's thread.
    train_publisher = publisher_of(
        Surface(kind=TRAIN, load=Train.from_doc, index_fn=train_index),
        lambda t: train_message(load_view(store, t), now=iso(utc_now()), links=links),
        lambda t: trains.finish_if_done(t),
    )
    trains = TrainBook(store=store, board=train_publisher)
    offers = RebakeOffers(config=config, store=store)

    def bake_thread(b: Bake) -> list[tuple[str, str, list[dict[str, Any]]]]:
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
    repos: dict[str, SourceRepo] = {}
    repos_lock = threading.Lock()

    def repo_for(image: ImageConfig) -> SourceRepo:
        with repos_lock:
            if image.name not in repos:
                repo = open_repo(
                    image.repository,
                    branch=image.branch,
                    cache_dir=Path(env.workdir) / "repos",
                    session_factory=partial(client, "codecommit", image.region),
                )
                repos[image.name] = LinkedRepo(repo, image.name, opts.links) if opts.links.local else repo
            return repos[image.name]

    def pipeline_for(region: str | None) -> CodePipelineApi:
        return CodePipelineApi(client("codepipeline", region))

    def images_for(region: str | None) -> Ec2Images:
        return Ec2Images(client("ec2", region))

    def parameters_for(region: str | None) -> SsmParameters:
        # The upstream parameters (§12), read in each image's region: by the watch, and when a bake is pinned.
        return SsmParameters(client("ssm", region))

    bakes = BakeService(
        config=config,
        store=store,
        access=access,
        board=publisher,
        repo_for=repo_for,
        pipeline_for=pipeline_for,
        images_for=images_for,
        run_async=workers.submit,
        on_success=buttons.offer,
        on_release=lambda bake: release_flow.released(bake),  # built below: it needs the rollouts
        parameters_for=parameters_for,  # a parentless image with upstream is pinned on its parameter's value
    )
    approvals = ApprovalService(
        config=config,
        store=store,
        access=access,
        chat=chat,
        bakes=bakes,
        pipeline_for=pipeline_for,
        run_async=workers.submit,
        reply_text=reply_text,
    )
    rollouts = RolloutService(
        config=config,
        store=store,
        access=access,
        bakes=bakes,
        buttons=buttons,
        fleet_for=lambda region: Fleet(client("ec2", region), client("autoscaling", region)),
        images_for=images_for,
        board=rollout_publisher,
        run_async=workers.submit,
        default_region=default_region,
        poll_interval=opts.rollout_poll_interval,
    )

    # The bake service opens automatic bakes; the train's door adds each as a hop of its train.
    auto = TrainAutoBakes(config=config, store=store, inner=bakes, trains=trains)
    release_flow = ReleaseFlow(
        config=config,
        store=store,
        trains=trains,
        auto=auto,
        rollouts=lambda: rollouts,
        offers=offers,
        mark_bake_dirty=publisher.mark_dirty,
    )
    rebakes = Rebakes(
        config=config,
        store=store,
        access=access,
        offers=offers,
        auto=auto,
        trains=trains,
        mark_bake_dirty=publisher.mark_dirty,
    )

    def deliver(note: Notification) -> None:
        """Each parsed notification to the one service it concerns."""
        if isinstance(note, ApprovalRequest):
            approvals.receive(note)
        else:
            bakes.apply(note)

    # The release train's upstream watch (§12): a topic message checks at once, the chores below every check_every.
    upstream = UpstreamWatch(
        config=config,
        bakes=bakes,
        auto=auto,  # through the train: an upstream move is the root of a train
        parameters_for=parameters_for,
        images_for=images_for,
    )
    intake = Intake(
        store=store,
        apply=deliver,
        topic_arns=config.notifications.sns_topic_arns,
        upstream_topic_arns=config.notifications.upstream_topic_arns,
        on_upstream=upstream.check_all,
    )
    services = Services(
        config=config,
        store=store,
        chat=chat,
        access=access,
        bakes=bakes,
        approvals=approvals,
        rollouts=rollouts,
        slash=SlashCommands(config=config, bakes=bakes, rollouts=rollouts, trains=trains.view, links=links),
        intake=intake,
        publisher=publisher,
        rollout_publisher=rollout_publisher,
        workers=workers,
        answers=Answers(budget=opts.answer_budget),
        foreground=foreground,
        train_publisher=train_publisher,
        release_flow=release_flow,
        rebakes=rebakes,
    )
    verifier = SnsVerifier(config.notifications.sns_topic_arns, fetch=opts.cert_fetcher)
    sns = (
        SnsEndpoint(verifier, intake.handle, confirm=opts.subscribe_confirmer)
        if opts.subscribe_confirmer
        else SnsEndpoint(verifier, intake.handle)
    )
    sqs = None
    if config.notifications.queue_url:
        url = config.notifications.queue_url
        sqs = SqsConsumer(
            client("sqs", region_of_queue(url)),
            url,
            intake.handle,
            wait_seconds=opts.sqs_wait_seconds,
            idle_pause=opts.sqs_idle_pause,
        )
    # Builds run in each image's region; what a killed one left there is swept after the longest build timeout.
    leak_sweep = LeakSweep(
        lambda region: Ec2BuildLeftovers(client("ec2", region)),
        {default_region, *(image.region or default_region for image in config.images.values())} - {""},
        max_age=timedelta(seconds=env.build_timeout_seconds or int(DEFAULT_BUILD_TIMEOUT_MINUTES) * 60),
    )
    housekeeping = Housekeeping(
        [
            Chore("rollout-progress", opts.housekeeping_tick, rollouts.poll_once),
            Chore("approval-expiry", opts.approval_sweep_every, approvals.expire_overdue),
            Chore("sns-message-ids", opts.message_id_sweep_every, intake.forget_old_messages),
            Chore("build-leftovers", opts.leak_sweep_every, leak_sweep.sweep_once, delay=opts.leak_sweep_delay),
            *(
                Chore(f"upstream-{image.name}", image.upstream.check_every, partial(upstream.check, image.name))
                for image in upstream.watched
                if image.upstream
            ),
        ],
        tick=opts.housekeeping_tick,
    )
    # A receive in progress returns within its long-poll wait: give it that long, and a little more, to end.
    runtime = Runtime(services, housekeeping=housekeeping, sqs=sqs, sqs_grace=opts.sqs_wait_seconds + 2.0)
    return Bot(env=env, web_client=web_client, services=services, runtime=runtime, sns=sns, sqs=sqs)
