"""The whole bakery on one machine: local AWS, the local pipeline, the Slack stand-in, the page, and the bot.

The bot is built exactly as `bakery serve` builds it (`build_bot`, `build_app`, `HttpServer`), from the
environment: the sandbox only sets the standard variables (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`,
`SLACK_API_URL`, tokens) and writes a configuration. Everything listens on 127.0.0.1; nothing leaves the machine.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import build_app
from bot.config import Config, Environment, load_config
from bot.domain.links import Links
from bot.sandbox import config as sandbox_config
from bot.sandbox.aws import seed, upstream
from bot.sandbox.aws.events import TopicPublisher
from bot.sandbox.aws.fake_autoscaling import FakeAutoScaling
from bot.sandbox.aws.fake_codecommit import FakeCodeCommit
from bot.sandbox.aws.fake_codepipeline import FakeCodePipeline
from bot.sandbox.aws.fake_ec2 import FakeEc2

# The sandbox extra (pip install 'ami-bakery[sandbox]'): local_aws imports moto at its top, so that the CLI finds
# out it is missing when it imports the sandbox, before anything starts.
from bot.sandbox.aws.local_aws import point_at_moto
from bot.sandbox.aws.seeding import seed_sandbox
from bot.sandbox.pipeline.journal import Journal
from bot.sandbox.pipeline.runner import LocalPipeline
from bot.sandbox.pipeline.stages import Stages
from bot.sandbox.pipeline.views import LocalViews
from bot.sandbox.slack.api import SlackApiStandIn
from bot.sandbox.slack.page import SandboxPage, SandboxUser
from bot.sandbox.slack.requests import SlackRequests
from bot.sandbox.welcome import welcome
from bot.server import BakeryWsgi, HttpServer
from bot.state.dynamodb import ensure_table
from bot.wiring import Options, build_bot

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[3]  # bot/sandbox/aws/stack.py
BOT_TOKEN = "xoxb-sandbox-bot-token"  # noqa: S105 - the stand-in's own token, valid nowhere else
PLATFORM_GROUP = "S0PLATFORM"
USERS = (
    SandboxUser("U0CAROL", "carol", "developer, asks for bakes"),
    SandboxUser("U0ALICE", "alice", "platform team (S0PLATFORM)"),
    SandboxUser("U0BOB", "bob", "platform team (S0PLATFORM)"),
    SandboxUser("U0MALLORY", "mallory", "not on the platform team"),
)
PLATFORM_MEMBERS = ("U0ALICE", "U0BOB")


@dataclass
class SandboxOptions:
    port: int = 8080
    config: str | None = None  # the configuration to derive from (default: bakery.example.yaml)
    stage_seconds: float = 2.5
    refresh_seconds: float = 30.0
    publish_interval: float = 1.0  # the bot's Slack publisher (production default)
    # Long polls of at most a second: a message still wakes the poll at once, and Ctrl-C need not wait 20 s.
    sqs_wait_seconds: int = 1
    project_root: Path = PROJECT_ROOT
    # For tests that run bots of their own (`bakery serve` replicas) on the sandbox's world:
    bot: bool = True  # False: everything but the bot and its page; `environ` is the bots' env
    moto_endpoint: str | None = None  # a moto already running (reset, then used) instead of one of its own
    state_table: str = ""  # a DynamoDB table (made at start) instead of the SQLite file
    trains: bool = True  # False: no child bakes and no rollout on a release by itself (the example's `ask`)
    visibility_timeout: int = 30  # the queue's, in seconds
    max_receives: int = 0  # >0: a dead-letter queue, and the queue's redrive policy moves a message after this many


class Sandbox:
    """Start with `start()`, stop with `stop()`; every server it starts, it stops; its files live in a temp dir."""

    def __init__(self, options: SandboxOptions, environ: MutableMapping[str, str] | None = None):
        self.options = options
        self._environ = os.environ if environ is None else environ
        self._stack: list[Any] = []  # things with stop(), in start order
        self.workdir = Path(tempfile.mkdtemp(prefix="bakery-sandbox-"))
        self.page: SandboxPage | None = None
        self.config: Config | None = None
        self.endpoints: dict[str, str] = {}
        # The bot's execution, commit and approval links open the page's own views, not the AWS console.
        self._url = ""
        self.links = Links(base_url=lambda: self.url)

    @property
    def url(self) -> str:
        """The page's address. Kept once read: the bot's last flush, after the page stopped, still draws links."""
        if not self._url:
            assert self.page is not None
            self._url = self.page.url
        return self._url

    def start(self) -> Sandbox:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        opts = self.options
        example = sandbox_config.read_example(sandbox_config.example_path(opts.config, opts.project_root))
        region = sandbox_config.default_region(example)
        moto, server = point_at_moto(self._environ, region, opts.moto_endpoint)
        if server is not None:
            self._stack.append(server)
        import boto3

        session = boto3.Session(region_name=region)
        self.events = events = seed.seed_events(
            session, region, visibility_timeout=opts.visibility_timeout, max_receives=opts.max_receives
        )
        bakery_account = events.topic_arn.split(":")[4]  # moto's default account: the bakery's own
        upstream_topic = upstream.seed_upstream_topic(session, region, events.queue_url)
        if opts.state_table:
            ensure_table(session.client("dynamodb"), opts.state_table)
        written = sandbox_config.write(
            sandbox_config.derive(
                example, queue_url=events.queue_url, topic_arn=events.topic_arn, state_path=self.workdir / "state.db",
                upstream_topic_arn=upstream_topic, upstream_parameter=upstream.UPSTREAM_PARAMETER,
                state_table=opts.state_table, trains=opts.trains,
            ),
            self.workdir / "bakery.yaml",
        )
        self.config_path = written.path
        config = self.config = written.config

        repositories = self.workdir / "repositories"
        codecommit = self._started(FakeCodeCommit(repositories, region=region, account_id=bakery_account))
        codepipeline = self._started(FakeCodePipeline(region=region, account=bakery_account))
        autoscaling = self._started(
            FakeAutoScaling(moto, region=region, duration=opts.refresh_seconds, session=session, account=bakery_account)
        )
        ec2 = self._started(FakeEc2(moto, region=region, session=session, account=bakery_account))
        channels = {config.channel, *(i.channel for i in config.images.values())}
        slack = self._started(
            SlackApiStandIn(
                BOT_TOKEN,
                channels=channels,
                users={u.id: u.name for u in USERS},
                usergroups={PLATFORM_GROUP: PLATFORM_MEMBERS},
            )
        )
        self.endpoints = {
            "moto": moto,
            "codecommit": codecommit.endpoint,
            "codepipeline": codepipeline.endpoint,
            "autoscaling": autoscaling.endpoint,
            "ec2": ec2.endpoint,
            "slack_api": slack.base_url,
        }
        self._environ.update(
            AWS_ENDPOINT_URL_CODECOMMIT=codecommit.endpoint,
            AWS_ENDPOINT_URL_CODEPIPELINE=codepipeline.endpoint,
            AWS_ENDPOINT_URL_AUTO_SCALING=autoscaling.endpoint,
            AWS_ENDPOINT_URL_EC2=ec2.endpoint,
        )
        specs = seed_sandbox(
            session, config, codecommit=codecommit, project_root=opts.project_root, region=region,
            state_path=self.workdir / "state.db", bakery_account=bakery_account, external_id=sandbox_config.EXTERNAL_ID,
        )
        logs = Journal()
        usergroups = {PLATFORM_GROUP: PLATFORM_MEMBERS}
        page = SandboxPage(
            slack=slack,
            users=list(USERS),
            roles=lambda user: sandbox_config.roles_of(user, config, usergroups),
            channel=config.channel,
            info=self.info,
            views=LocalViews(logs, {spec.image: spec.repository for spec in specs}),
            upstream=upstream.UpstreamReleases(session, config, upstream_topic, region).api,
            port=opts.port,
        )
        self.page = page  # started last: once it answers, everything behind it is ready
        topic = TopicPublisher(session, events.topic_arn)
        stages = Stages(
            session,
            publish=topic.publish,
            logs=logs,
            log_url=self._log_url,
            packer=shutil.which("packer"),
            account=topic.account,
            members=tuple(sorted({i.account for i in config.images.values() if i.account})),
        )
        self._started(
            LocalPipeline(
                specs,
                codepipeline=codepipeline,
                topic=topic,
                stages=stages,
                logs=logs,
                log_url=self._log_url,
                console_url=lambda pipeline, ex: self.links.execution(pipeline=pipeline, execution_id=ex, region=""),
                stage_seconds=opts.stage_seconds,
            )
        )
        self.slack, self.codepipeline, self.autoscaling, self.codecommit = slack, codepipeline, autoscaling, codecommit
        self._bot_environ(slack, written.path)
        if not opts.bot:  # the caller runs the bots, on `environ`
            self._started(page)
            return
        bot_url = self._start_bot()
        self._started(page)
        _ = self.url  # known from here on, whatever stops first
        page.requests = SlackRequests(
            bot_url=bot_url,
            signing_secret=self._environ["SLACK_SIGNING_SECRET"],
            response_base=f"{page.url}/slack/responses",
            names={u.id: u.name for u in USERS},
        )
        self.endpoints["bot"] = bot_url
        text, blocks = welcome(page.get_users(), config=config)
        slack.add_message(config.channel, text, blocks, username="sandbox")

    @property
    def environ(self) -> MutableMapping[str, str]:
        """The environment a bot of this sandbox runs with: AWS at the stand-ins, Slack's tokens, its config."""
        return self._environ

    def _bot_environ(self, slack: SlackApiStandIn, config_path: Path) -> None:
        self._environ.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=secrets.token_hex(16),
            SLACK_API_URL=slack.base_url,
            BAKERY_CONFIG=str(config_path),
            BAKERY_WORKDIR=str(self.workdir / "bot"),
            # What the member role's trust policy asks for (seeding.py): the bot assumes it with this.
            BAKERY_EXTERNAL_ID=sandbox_config.EXTERNAL_ID,
        )

    def _start_bot(self) -> str:
        """`bakery serve`, in this process: the same wiring, configured only through the environment."""
        env = Environment.from_environ(self._environ)
        bot = build_bot(
            load_config(self.config_path),
            env,
            options=Options(
                publish_interval=self.options.publish_interval,
                sqs_wait_seconds=self.options.sqs_wait_seconds,
                # A local refresh lasts seconds, not the tens of minutes of a real one: follow it more often
                # (one describe call every tenth of it, as on AWS every 10 s), so the percentage moves visibly.
                rollout_poll_interval=max(0.5, min(10.0, self.options.refresh_seconds / 10)),
                links=self.links,
            ),
        )
        server = HttpServer(BakeryWsgi(build_app(bot), bot), host="127.0.0.1", port=0)
        bot.start()
        self._stack.append(bot)
        server.start()
        self._stack.append(server)
        return server.url

    def _started(self, thing: Any) -> Any:
        thing.start()
        self._stack.append(thing)
        return thing

    def _log_url(self, execution_id: str, stage: str) -> str:
        return f"{self.url}/logs/{execution_id}/{stage}"

    def info(self) -> dict[str, Any]:
        config = self.config
        assert config is not None
        return {
            "channel": config.channel,
            "images": [
                {"name": i.name, "parent": i.parent, "pipeline": i.pipeline, "variables": sorted(i.variables),
                 "upstream": i.upstream.ssm_parameter if i.upstream else None,
                 "account": i.account or config.bakery_account}
                for i in config.images.values()
            ],
            "targets": [{"name": t.name, "image": t.image, "approval": t.approval} for t in config.targets.values()],
            "endpoints": dict(self.endpoints),
            "config": str(self.workdir / "bakery.yaml"),
            "stage_seconds": self.options.stage_seconds,
        }

    def stop(self) -> None:
        """Stop everything started, newest first; a failure to stop one thing does not keep the rest running."""
        while self._stack:
            thing = self._stack.pop()
            try:
                thing.stop()
            except Exception:  # noqa: BLE001 - keep stopping the rest; say what failed
                log.exception("sandbox.stop_failed thing=%s", type(thing).__name__)
        shutil.rmtree(self.workdir, ignore_errors=True)
