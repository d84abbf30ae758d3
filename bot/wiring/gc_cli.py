"""What `bakery gc` builds: the state store, the AWS adapters and the sweep; no Slack, no loops."""

from __future__ import annotations

import boto3

from bot.config import Config, Environment
from bot.domain.errors import BakeryError, ConfigError
from bot.domain.links import CONSOLE
from bot.slack.gc_blocks import report_text
from bot.state import open_store
from bot.state.sqlite_lock import StateInUse
from bot.wiring.adapters import Adapters, Clients
from bot.wiring.lifecycle import build_sweep


def run_gc(
    config: Config, env: Environment, *, dry_run: bool, session: boto3.Session | None = None
) -> tuple[str, bool]:
    """The sweep's report as text, and whether AWS refused anything."""
    session = session or boto3.Session(region_name=env.aws_region or None)
    default_region = env.aws_region or session.region_name or ""
    if not default_region:
        _require_regions(config)
    clients = Clients(session, env.aws_region or None, external_id=env.external_id)
    aws = Adapters(clients, workdir=env.workdir, links=CONSOLE)
    try:
        store = open_store(
            backend=config.state.backend,
            path=config.state.path,
            table=config.state.table,
            session_factory=lambda: session,
        )
    except StateInUse as exc:  # CONTRACT §15: not beside a bot on the same SQLite file
        raise BakeryError(
            f"bakery gc cannot run while a bot holds the SQLite state {exc.path} (pid {exc.pid or '?'}); "
            "run the sweep from Slack instead (/bake gc), or stop the bot first"
        ) from None
    try:
        sweep = build_sweep(config=config, store=store, aws=aws, default_region=default_region)
        report = sweep.dry_run() if dry_run else sweep.run()
    finally:
        store.close()
    return report_text(report, config.bakery_account), bool(report.failed)


def _require_regions(config: Config) -> None:
    """With no default region, every image must name its own (a target without one runs in its image's): boto3
    would otherwise stop the sweep half way with a traceback."""
    problems = [
        f"images.{name}.region: not set, and neither is AWS_REGION (or AWS_DEFAULT_REGION): the sweep cannot tell "
        f"where {name}'s AMIs are"
        for name, image in sorted(config.images.items())
        if not image.region
    ]
    if problems:
        raise ConfigError(problems)
