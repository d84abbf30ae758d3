"""build_bot: every service and adapter from the configuration and the environment, once, in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import TypedDict

import boto3
from slack_sdk import WebClient

from bot.access.service import Access
from bot.adapters.aws.sns_http import SnsEndpoint
from bot.adapters.aws.sns_verify import SnsVerifier, fetch_certificate
from bot.adapters.aws.sqs import SqsConsumer
from bot.adapters.slack_chat import SlackChat, make_web_client
from bot.approvals.service import ApprovalService
from bot.bakes.service import BakeService
from bot.commands.dispatch import SlashCommands
from bot.config import Config, Environment
from bot.config.environment import DEFAULT_BUILD_TIMEOUT_MINUTES
from bot.domain.links import CONSOLE, Links
from bot.domain.models import ApprovalRequest, Notification
from bot.domain.ports import StateStore
from bot.fleet.revocations import Revocations
from bot.intake.service import Intake
from bot.observe.metrics import Metrics
from bot.rollouts.buttons import RolloutButtons
from bot.rollouts.service import RolloutService
from bot.runtime.answers import BUDGET_SECONDS, Answers
from bot.runtime.coalesce import Coalesced
from bot.runtime.foreground import Foreground
from bot.runtime.housekeeping import Chore, Housekeeping
from bot.runtime.leak_sweep import LeakSweep
from bot.runtime.leases import LeaseTimes
from bot.runtime.requests import RequestIdentities
from bot.runtime.runner import Runtime
from bot.runtime.workers import BakeWorkers
from bot.services import Services
from bot.slack.replies import reply_text
from bot.state import open_store
from bot.wiring.adapters import Adapters, Clients, with_client_config
from bot.wiring.bot import Bot
from bot.wiring.fleet import build_fleet
from bot.wiring.lifecycle import build_gc, build_sweep
from bot.wiring.observing import dlq_chores, watch_store
from bot.wiring.publishers import build_publishers
from bot.wiring.trains import build_trains


@dataclass
class Options:
    """Knobs the CLI and tests may turn; production uses the defaults."""

    publish_interval: float = 1.0
    publish_poll_every: float = 1.0  # the leading publisher reads each kind's "active" index this often (§15)
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
    train_wait_sweep_every: float = 60.0  # starting trains' rollouts whose target was freed without a signal
    distribution_poll_every: float = 30.0  # how often a release's copies are looked at until they are available
    distribution_retry_first: float = 60.0  # after an AWS error, the first wait before trying again (it doubles)
    answer_budget: float = BUDGET_SECONDS  # how long a listener waits for an answer to ride on its ack
    links: Links = CONSOLE  # where execution and commit links lead: the AWS console, or the sandbox's views
    assume_role_clock: Callable[[], datetime] | None = None  # the assumed roles' clock (expiry, back-off); tests'
    stale_digest_every: float = 3600.0  # looking for targets behind longer than fleet.stale_after (§14)
    stale_digest_delay: float = 300.0  # the first look: not while the bot starts
    sweep_every: float = 3600.0  # how often the daily lifecycle sweep looks whether today's is claimed yet (§14)
    sweep_delay: float = 300.0  # the first look: not while the bot starts
    leases: LeaseTimes = LeaseTimes()  # led loops (§15): lease length 15 s, renewed every 5 s, recovery every 60 s


class _Core(TypedDict):
    config: Config
    store: StateStore
    access: Access
    run_async: Callable[[Callable[[], None]], None]


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
    session = with_client_config(session or boto3.Session(region_name=env.aws_region or None))
    metrics = Metrics()
    clients = Clients(
        session, env.aws_region or None, external_id=env.external_id, time_fetcher=opts.assume_role_clock,
        on_aws_error=metrics.aws_error,
    )  # fmt: skip
    aws = Adapters(clients, workdir=env.workdir, links=opts.links)
    store = open_store(
        backend=config.state.backend, path=config.state.path, table=config.state.table, session_factory=lambda: session
    )
    watch_store(metrics, store, leases=lambda: runtime.leads())  # the leases the runtime (built below) holds
    web_client = web_client or make_web_client(env.slack_bot_token, env.slack_api_url)
    chat = SlackChat(web_client, on_error=metrics.slack_error)
    # Message links: the sandbox's page, else the workspace auth.test names (read once, on the first link).
    links = opts.links if opts.links.local else replace(opts.links, workspace_url=chat.workspace_url)
    access = Access(config.access, chat)
    default_region = env.aws_region or session.region_name or ""
    foreground = Foreground()
    workers = BakeWorkers(workers=opts.bake_workers, foreground=foreground)
    buttons = RolloutButtons(config=config, store=store)
    revocations = Revocations(store)  # §14: what every refusal of a revoked AMI asks (bakes, rollouts, trains)
    shown = build_publishers(
        config=config,
        store=store,
        chat=chat,
        foreground=foreground,
        buttons=buttons,
        approvers=access.describe("approvers"),
        default_region=default_region,
        min_interval=opts.publish_interval,
        poll_every=opts.publish_poll_every,
        links=opts.links,
        train_links=links,
        metrics=metrics,
    )
    # What every service is built on: the configuration, the store, who may do what, and the bake workers.
    core = _Core(config=config, store=store, access=access, run_async=workers.submit)
    bakes = BakeService(
        **core,
        board=shown.bakes,
        repo_for=aws.repo_for,
        pipeline_for=aws.pipeline_for,
        images_for=aws.images_for,
        on_success=buttons.offer,
        reach=aws.reach,
        on_release=lambda bake: train.release_flow.released(bake),  # built below: it needs the rollouts
        parameters_for=aws.parameters_for,  # a parentless image with upstream is pinned on its parameter's value
        revoked=revocations.get,
    )
    approvals = ApprovalService(**core, chat=chat, bakes=bakes, pipeline_for=aws.pipeline_for, reply_text=reply_text)
    rollouts = RolloutService(
        **core,
        bakes=bakes,
        buttons=buttons,
        fleet_for=aws.fleet_for,
        images_for=aws.images_for,
        board=shown.rollouts,
        default_region=default_region,
        poll_interval=opts.rollout_poll_interval,
        # A rollout ended: a train's rollout waiting for its target starts, on a worker (it calls AWS).
        on_target_free=lambda target: workers.submit(partial(train.release_flow.target_free, target)),
        revoked=revocations.get,
    )
    train = build_trains(
        config=config,
        store=store,
        access=access,
        bakes=bakes,
        rollouts=lambda: rollouts,
        trains=shown.train_book,
        offers=shown.offers,
        mark_bake_dirty=shown.bakes.mark_dirty,
        parameters_for=aws.parameters_for,
        images_for=aws.images_for,
        copier_for=aws.sharing_for,
        ami_key_alias=env.ami_key_alias,
        run_async=workers.submit,
        retry_first=opts.distribution_retry_first,
        revoked=revocations.is_revoked,
    )

    # `/bake fleet`, the stale digest and `/bake revoke` (§14): in every account and region the config reaches.
    fleet = build_fleet(
        config=config, store=store, chat=chat, access=access, revocations=revocations, bakes=bakes, buttons=buttons,
        rollouts=rollouts, fleet_for=aws.fleet_for, lifecycle_for=aws.lifecycle_for,
        parameters_for=aws.parameters_for, default_region=default_region,
    )  # fmt: skip

    def deliver(note: Notification) -> None:
        """Each parsed notification to the one service it concerns."""
        if isinstance(note, ApprovalRequest):
            approvals.receive(note)
        else:
            bakes.apply(note)

    # A topic message only schedules the upstream check, on a bake worker, coalesced (CONTRACT §12): a slow
    # SSM read or the bake it opens never holds up the pipeline messages the SQS consumer reads after it.
    upstream_now = Coalesced(train.upstream.check_all, run_async=workers.submit, name="upstream-check")
    intake = Intake(
        store=store,
        apply=deliver,
        topic_arns=config.notifications.sns_topic_arns,
        upstream_topic_arns=config.notifications.upstream_topic_arns,
        on_upstream=upstream_now.trigger,
    )
    sweep = build_sweep(
        config=config,
        store=store,
        aws=aws,
        default_region=default_region,
        in_flight=bakes.in_flight,
        active_rollouts=rollouts.active,
    )
    gc = build_gc(config=config, store=store, access=access, chat=chat, sweep=sweep)
    services = Services(
        config=config,
        store=store,
        chat=chat,
        access=access,
        bakes=bakes,
        approvals=approvals,
        rollouts=rollouts,
        slash=SlashCommands(
            config=config,
            bakes=bakes,
            rollouts=rollouts,
            trains=shown.train_book.view,
            links=links,
            fleet=fleet.view,
            revoke=fleet.revoke,
            gc=gc,
        ),
        intake=intake,
        publisher=shown.bakes,
        rollout_publisher=shown.rollouts,
        workers=workers,
        answers=Answers(budget=opts.answer_budget),
        foreground=foreground,
        train_publisher=shown.trains,
        release_flow=train.release_flow,
        rebakes=train.rebakes,
        requests=RequestIdentities(store),
        gc=gc,
    )
    # Over HTTPS as on SQS (§5, §8): an upstream topic's messages are verified like ours, then known by topic.
    notifications = config.notifications
    verifier = SnsVerifier((*notifications.sns_topic_arns, *notifications.upstream_topic_arns), fetch=opts.cert_fetcher)
    lag = metrics.intake_lag_seconds.observe
    sns = (
        SnsEndpoint(verifier, intake.handle, confirm=opts.subscribe_confirmer, on_lag=lag)
        if opts.subscribe_confirmer
        else SnsEndpoint(verifier, intake.handle, on_lag=lag)
    )
    sqs = None
    if config.notifications.queue_url:
        url = config.notifications.queue_url
        sqs = SqsConsumer(
            aws.queue_client(url),
            url,
            intake.handle,
            wait_seconds=opts.sqs_wait_seconds,
            idle_pause=opts.sqs_idle_pause,
            on_lag=lag,
        )
    # Builds run in each image's region; what a killed one left there is swept after the longest build timeout.
    leak_sweep = LeakSweep(
        aws.leftovers_for,
        {default_region, *(image.region or default_region for image in config.images.values())} - {""},
        max_age=timedelta(seconds=env.build_timeout_seconds or int(DEFAULT_BUILD_TIMEOUT_MINUTES) * 60),
    )
    housekeeping = Housekeeping(
        [
            Chore("rollout-progress", opts.housekeeping_tick, rollouts.poll_once),
            Chore("approval-expiry", opts.approval_sweep_every, approvals.expire_overdue),
            Chore("sns-message-ids", opts.message_id_sweep_every, intake.forget_old_messages),
            Chore("slack-requests", opts.message_id_sweep_every, services.requests.forget_old),
            Chore("build-leftovers", opts.leak_sweep_every, leak_sweep.sweep_once, delay=opts.leak_sweep_delay),
            # The trains' rollouts waiting for a target start when it is freed; this catches a signal lost.
            Chore("train-waits", opts.train_wait_sweep_every, train.release_flow.retry_waiting),
            # A release's copies (§13) take minutes to hours: looked at on a schedule, never waited for.
            Chore("distributions", opts.distribution_poll_every, train.distributions.poll_once),
            Chore("stale-digest", opts.stale_digest_every, fleet.digest.run_once, delay=opts.stale_digest_delay),
            # One lifecycle sweep a day (§14), claimed in the store: every replica looks, one sweeps.
            Chore("lifecycle-sweep", opts.sweep_every, gc.daily, delay=opts.sweep_delay),
            *dlq_chores(metrics, aws.queue_client, config.notifications.queue_url),  # bakery_dlq_messages
            *(
                Chore(f"upstream-{image.name}", image.upstream.check_every, partial(train.upstream.check, image.name))
                for image in train.upstream.watched
                if image.upstream
            ),
        ],
        tick=opts.housekeeping_tick,
    )
    grace = opts.sqs_wait_seconds + 2.0  # a receive in progress ends within its long-poll wait: that, and a little
    runtime = Runtime(services, housekeeping=housekeeping, sqs=sqs, sqs_grace=grace, leases=opts.leases)
    return Bot(env=env, web_client=web_client, services=services, runtime=runtime, sns=sns, sqs=sqs, metrics=metrics)
