"""The bot `build_bot` returns: what `bakery serve` and `bakery socket` run, and the edges they serve."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient

from bot.adapters.aws.sns_http import SnsEndpoint
from bot.adapters.aws.sqs import SqsConsumer
from bot.config import Environment
from bot.observe.metrics import Metrics
from bot.runtime.runner import Runtime
from bot.services import Services


@dataclass(frozen=True)
class Bot:
    """Everything `bakery serve` and `bakery socket` run: the services, their loops, and the edges."""

    env: Environment
    web_client: WebClient
    services: Services
    runtime: Runtime
    sns: SnsEndpoint
    sqs: SqsConsumer | None
    metrics: Metrics  # what `GET /metrics` reports (bot/observe)

    def start(self) -> None:
        self.runtime.start()

    def stop(self, timeout: float = 5.0, *, budget: float | None = None) -> int:
        return self.runtime.stop(timeout, budget=budget)

    def health(self) -> dict[str, Any]:
        return self.runtime.health()
