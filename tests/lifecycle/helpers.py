"""The lifecycle tests' configuration and sweep over the in-memory world of fakes.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.bakes.record import Bake
from bot.config import Config, parse_config
from bot.lifecycle.locks import ImageLocks
from bot.lifecycle.report import Planned
from bot.lifecycle.survey import Surveyor
from bot.lifecycle.sweep import LifecycleSweep
from bot.rollouts.record import Rollout
from bot.state.sqlite import SqliteStore
from tests.lifecycle.fakes import MEMBER, World

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

CONFIG = f"""
slack: {{channel: C0BAKERY}}
access: {{bakers: ["*"], approvers: [U0ALICE], deployers: [U0ALICE]}}
notifications:
  queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/ami-bakery-events
lifecycle: {{keep_released: 2, keep_unreleased_days: 7, deprecate_after_days: 30}}
images:
  base:
    repository: codecommit://base
    pipeline: ami-bakery-base
    region: eu-west-1
    share_with: {{accounts: ["{MEMBER}"], regions: [us-east-1]}}
  web:
    repository: codecommit://web
    pipeline: ami-bakery-web
    region: eu-west-1
    parent: base
    account_role: arn:aws:iam::{MEMBER}:role/ami-bakery-bot
targets:
  base-canary: {{image: base, auto_scaling_group: base-canary, launch_template: base-canary}}
  web-prod: {{image: web, auto_scaling_group: web-prod, launch_template: web-prod}}
"""


def days(n: float) -> datetime:
    return NOW - timedelta(days=n)


def config(extra: str = "") -> Config:
    return parse_config(CONFIG + extra)


class Setup:
    """A sweep over `world`, with the bakes in flight, rollouts and revocations a test sets."""

    def __init__(self, world: World, *, cfg: Config | None = None, store: Any = None) -> None:
        self.world = world
        self.config = cfg or config()
        self.store = store or SqliteStore(":memory:")
        self.bakes: list[Bake] = []
        self.rollouts: list[Rollout] = []
        self.revoked: set[str] = set()
        self.before: Callable[[Planned], Any] = lambda planned: None
        self.surveyor = Surveyor(
            config=self.config,
            lifecycle_for=world.lifecycle_for,
            parameters_for=world.parameters_for,
            in_flight=lambda: self.bakes,
            active_rollouts=lambda: self.rollouts,
            revoked=lambda: self.revoked,
            default_region="eu-west-1",
            clock=lambda: NOW,
            store=self.store,
        )
        self.locks = ImageLocks(self.store, clock=lambda: NOW, sleep=lambda s: None)
        self.sweep = LifecycleSweep(
            config=self.config, surveyor=self.surveyor, locks=self.locks, before_removal=lambda p: self.before(p)
        )
