"""What `bakery gc` builds: the state store, the AWS adapters and the sweep; no Slack, no loops."""

from __future__ import annotations

import boto3

from bot.config import Config, Environment
from bot.domain.links import CONSOLE
from bot.slack.gc_blocks import report_text
from bot.state import open_store
from bot.wiring.adapters import Adapters, Clients
from bot.wiring.lifecycle import build_sweep


def run_gc(
    config: Config, env: Environment, *, dry_run: bool, session: boto3.Session | None = None
) -> tuple[str, bool]:
    """The sweep's report as text, and whether AWS refused anything."""
    session = session or boto3.Session(region_name=env.aws_region or None)
    clients = Clients(session, env.aws_region or None, external_id=env.external_id)
    aws = Adapters(clients, workdir=env.workdir, links=CONSOLE)
    store = open_store(
        backend=config.state.backend, path=config.state.path, table=config.state.table, session_factory=lambda: session
    )
    try:
        sweep = build_sweep(
            config=config, store=store, aws=aws, default_region=env.aws_region or session.region_name or ""
        )
        report = sweep.dry_run() if dry_run else sweep.run()
    finally:
        store.close()
    return report_text(report, config.bakery_account), bool(report.failed)

