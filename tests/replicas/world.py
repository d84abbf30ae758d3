"""The replica tests' world, started once per module: the sandbox (bot/sandbox/aws/stack.py) without its bot.

The suite's moto (a DynamoDB state table, the events queue with a dead-letter queue), the local CodePipeline,
CodeCommit, Auto Scaling and EC2, and the Slack stand-in; every AWS endpoint the replicas reach goes through one
fault proxy (tests/fixtures/aws_faults.py), so a test can throttle or fail any call and count those that
reached a service.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from bot.sandbox.aws.stack import Sandbox, SandboxOptions
from tests.fixtures.aws_faults import AwsFaults

CONFIG = Path(__file__).with_name("bakery.replicas.yaml")
TABLE = "ami-bakery-replicas"
MAX_RECEIVES = 3
# The services whose endpoints the replicas reach through the proxy (the environment variable's suffix).
PROXIED = ("CODECOMMIT", "CODEPIPELINE", "AUTO_SCALING", "EC2")


class World:
    """The shared world (started once per module): the sandbox without its bot, behind the fault proxy."""

    def __init__(
        self,
        moto_endpoint: str,
        *,
        visibility_timeout: int = 30,
        stage_seconds: float = 0.05,
        config: Path = CONFIG,  # benchmarks/soak.py derives its world from a two-image configuration
    ):
        self.started_at = time.monotonic()
        self.sandbox = Sandbox(
            SandboxOptions(
                port=0,
                config=str(config),
                stage_seconds=stage_seconds,
                refresh_seconds=2.0,
                bot=False,
                moto_endpoint=moto_endpoint,
                state_table=TABLE,
                trains=False,
                visibility_timeout=visibility_timeout,
                max_receives=MAX_RECEIVES,
            ),
            # The replicas' environment, a copy: the sandbox points it at the stand-ins. Its own seeding clients
            # read os.environ, which the suite's moto fixture already points at `moto_endpoint`.
            environ=dict(os.environ),
        )
        self.faults = AwsFaults()
        try:
            self.sandbox.start()
            env = self.sandbox.environ
            env["AWS_ENDPOINT_URL"] = self.faults.front(env["AWS_ENDPOINT_URL"])
            for name in PROXIED:
                env[f"AWS_ENDPOINT_URL_{name}"] = self.faults.front(env[f"AWS_ENDPOINT_URL_{name}"])
            env["SLACK_SIGNING_SECRET"] = uuid.uuid4().hex
        except BaseException:
            self.stop()
            raise
        self.ready_after = time.monotonic() - self.started_at

    @property
    def slack(self) -> Any:
        return self.sandbox.slack

    @property
    def queue_url(self) -> str:
        return self.sandbox.events.queue_url

    @property
    def dead_letter_url(self) -> str:
        return self.sandbox.events.dead_letter_url

    def stop(self) -> None:
        self.faults.stop()
        self.sandbox.stop()
