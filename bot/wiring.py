"""Builds the bot's services and adapters from the configuration and environment, and runs their loops."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
from slack_sdk import WebClient

from bot.access.service import Access
from bot.adapters.aws.autoscaling import Fleet
from bot.adapters.aws.codepipeline import CodePipelineApi
from bot.adapters.aws.ec2_images import Ec2Images
from bot.adapters.aws.sns_http import SnsEndpoint
from bot.adapters.aws.sns_verify import SnsVerifier, fetch_certificate
from bot.adapters.aws.sqs import SqsConsumer, region_of_queue
from bot.adapters.repos import open_repo
from bot.adapters.slack_chat import SlackChat, make_web_client
from bot.approvals.service import ApprovalService
from bot.bakes.service import BakeService
from bot.commands.dispatch import SlashCommands
from bot.config import Config, Environment, ImageConfig
from bot.domain.ports import SourceRepo
from bot.intake.service import Intake
from bot.publishing.publisher import BAKES, MessagePublisher, Surface
from bot.rollouts.record import Rollout, rollout_index
from bot.rollouts.service import ROLLOUT, RolloutService
from bot.runtime.foreground import Foreground
from bot.slack.bake_blocks import bake_message, bake_replies
from bot.slack.rollout_blocks import rollout_message
from bot.state import open_store

log = logging.getLogger(__name__)


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
    housekeeping_tick: float = 1.0  # how often the rollout poller and the approval expiry sweep wake


class Backlog:
    """How many jobs the bake workers have not finished (for /healthz and graceful shutdown)."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self._count += 1

    def done(self) -> None:
        with self._lock:
            self._count -= 1

    @property
    def count(self) -> int:
        with self._lock:
            return self._count


@dataclass
class Services:
    config: Config
    env: Environment
    store: Any
    web_client: WebClient
    chat: SlackChat
    access: Access
    bakes: BakeService
    approvals: ApprovalService
    rollouts: RolloutService
    publisher: MessagePublisher
    rollout_publisher: MessagePublisher
    slash: SlashCommands
    intake: Intake
    sns: SnsEndpoint
    sqs: SqsConsumer | None
    executor: ThreadPoolExecutor
    backlog: Backlog
    foreground: Foreground
    run_async: Callable[[Callable[[], None]], None]
    housekeeping_tick: float = 1.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        """Recover what a previous run left in flight, then start the publisher and the SQS consumer."""
        self.bakes.recover()
        self.approvals.resume()
        self.rollouts.recover()
        self.publisher.recover()
        self.rollout_publisher.recover()
        self._spawn("publisher", self.publisher.run)
        self._spawn("rollout-publisher", self.rollout_publisher.run)
        self._spawn("housekeeping", self._housekeeping)
        if self.sqs is not None:
            self._spawn("sqs-intake", self.sqs.run)

    def tell(self, *, channel: str, user: str, text: str) -> None:
        """Answer someone privately, off the Slack listener thread."""
        self.run_async(lambda: self.chat.post_ephemeral(channel=channel, user=user, text=text))

    def _housekeeping(self, stop: threading.Event) -> None:
        """Follows running rollouts and closes overdue approvals; never on a Slack listener thread."""
        sweeps = 0
        while not stop.wait(self.housekeeping_tick):
            try:
                self.rollouts.poll_once()
                if sweeps % 30 == 0:
                    self.approvals.expire_overdue()
                if sweeps % 3600 == 0:  # at start, then about hourly
                    self.intake.forget_old_messages()
                sweeps += 1
            except Exception:  # noqa: BLE001 - the loop must outlive one bad round, with the traceback logged
                log.exception("housekeeping.failed")

    def _spawn(self, name: str, target: Callable[[threading.Event], None]) -> None:
        thread = threading.Thread(target=target, args=(self._stop,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.publisher.wake()
        self.rollout_publisher.wake()
        self.executor.shutdown(wait=True, cancel_futures=False)
        for thread in self._threads:
            thread.join(timeout=timeout)
        self.publisher.flush(timeout=timeout)
        self.rollout_publisher.flush(timeout=timeout)
        self.store.close()

    def health(self) -> dict[str, Any]:
        loops = {t.name: t.is_alive() for t in self._threads}
        ok = all(loops.values()) and not self._stop.is_set()
        return {
            "status": "ok" if ok else "degraded",
            "loops": loops,
            "sqs": "on" if self.sqs is not None else "off",
            "messages_pending": self.publisher.pending() + self.rollout_publisher.pending(),
            "bake_jobs_pending": self.backlog.count,
        }


def _lower_priority() -> None:
    """Bake workers (and the git processes they start, which inherit it) yield the CPU to Slack acks.

    On Linux a thread has its own nice value; elsewhere this is a no-op.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass




def build_services(
    config: Config,
    env: Environment,
    *,
    options: Options | None = None,
    session: boto3.Session | None = None,
    web_client: WebClient | None = None,
) -> Services:
    opts = options or Options()
    # Endpoints come from the standard AWS variables (AWS_ENDPOINT_URL…): the bot never overrides them.
    session = session or boto3.Session(region_name=env.aws_region or None)
    clients: dict[tuple[str, str | None], Any] = {}
    clients_lock = threading.Lock()

    def client(service: str, region: str | None) -> Any:
        with clients_lock:
            key = (service, region)
            if key not in clients:
                clients[key] = session.client(service, region_name=region or env.aws_region or None)
            return clients[key]

    store = open_store(
        backend=config.state.backend, path=config.state.path, table=config.state.table, session_factory=lambda: session
    )
    web_client = web_client or make_web_client(env.slack_bot_token, env.slack_api_url)
    chat = SlackChat(web_client)
    access = Access(config.access, chat)
    default_region = env.aws_region or session.region_name or ""
    foreground = Foreground()

    approvers = access.describe("approvers")
    rollouts_ref: list[RolloutService] = []

    def render(bake):
        image = config.images.get(bake.image)
        region = (image.region if image else None) or default_region
        targets = rollouts_ref[0].targets_of(bake) if rollouts_ref else ()
        return bake_message(bake, region=region, approvers=approvers, targets=targets)

    def publisher_of(surface: Surface, render: Callable[[Any], Any]) -> MessagePublisher:
        return MessagePublisher(
            store=store,
            chat=chat,
            render=render,
            surface=surface,
            min_interval=opts.publish_interval,
            before_publish=foreground.wait_quiet,
        )

    bake_surface = replace(BAKES, replies=lambda bake: bake_replies(bake, approvers=approvers))
    publisher = publisher_of(bake_surface, render)
    rollout_publisher = publisher_of(
        Surface(kind=ROLLOUT, load=Rollout.from_doc, index_fn=rollout_index),
        lambda r: rollout_message(r, approvers=approvers),
    )
    executor = ThreadPoolExecutor(
        max_workers=opts.bake_workers, thread_name_prefix="bake-worker", initializer=_lower_priority
    )

    backlog = Backlog()

    def run_async(job: Callable[[], None]) -> None:
        def logged() -> None:
            try:
                foreground.wait_quiet()
                job()
            except Exception:  # noqa: BLE001 - a worker must log, not die silently
                log.exception("worker.job_failed")
            finally:
                backlog.done()

        backlog.add()
        executor.submit(logged)

    repos: dict[str, SourceRepo] = {}
    repos_lock = threading.Lock()

    def repo_for(image: ImageConfig) -> SourceRepo:
        with repos_lock:
            if image.name not in repos:
                repos[image.name] = open_repo(
                    image.repository,
                    branch=image.branch,
                    cache_dir=Path(env.workdir) / "repos",
                    session_factory=lambda region=image.region: client("codecommit", region),
                )
            return repos[image.name]

    bakes = BakeService(
        config=config,
        store=store,
        access=access,
        board=publisher,
        repo_for=repo_for,
        pipeline_for=lambda region: CodePipelineApi(client("codepipeline", region)),
        images_for=lambda region: Ec2Images(client("ec2", region)),
        run_async=run_async,
    )
    approvals = ApprovalService(
        config=config,
        store=store,
        access=access,
        chat=chat,
        bakes=bakes,
        pipeline_for=lambda region: CodePipelineApi(client("codepipeline", region)),
        run_async=run_async,
    )
    rollouts = RolloutService(
        config=config,
        store=store,
        access=access,
        bakes=bakes,
        fleet_for=lambda region: Fleet(client("ec2", region), client("autoscaling", region)),
        images_for=lambda region: Ec2Images(client("ec2", region)),
        board=rollout_publisher,
        run_async=run_async,
        default_region=default_region,
        poll_interval=opts.rollout_poll_interval,
    )
    rollouts_ref.append(rollouts)
    bakes.on_approval = approvals.receive
    bakes.on_success = rollouts.offer
    intake = Intake(store=store, apply=bakes.apply, topic_arns=config.notifications.sns_topic_arns)
    verifier = SnsVerifier(config.notifications.sns_topic_arns, fetch=opts.cert_fetcher)
    sns_kwargs = {"confirm": opts.subscribe_confirmer} if opts.subscribe_confirmer else {}
    sns = SnsEndpoint(verifier, lambda body, message_id: intake.handle(body, message_id), **sns_kwargs)
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
    return Services(
        config=config,
        env=env,
        store=store,
        web_client=web_client,
        chat=chat,
        access=access,
        bakes=bakes,
        approvals=approvals,
        rollouts=rollouts,
        publisher=publisher,
        rollout_publisher=rollout_publisher,
        slash=SlashCommands(config=config, bakes=bakes, rollouts=rollouts),
        intake=intake,
        sns=sns,
        sqs=sqs,
        executor=executor,
        backlog=backlog,
        foreground=foreground,
        run_async=run_async,
        housekeeping_tick=opts.housekeeping_tick,
    )
