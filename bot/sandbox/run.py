"""`bakery sandbox`: the whole bakery on one offline machine (CONTRACT §9), until Ctrl-C.

Everything runs in this one process (servers and loops on threads; git and packer as short-lived children),
so Ctrl-C or SIGTERM stops it all and leaves nothing behind.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import time

from bot.domain.errors import ConfigError
from bot.sandbox.aws.stack import Sandbox, SandboxOptions
from bot.sandbox.config import FAIL_EXAMPLE

log = logging.getLogger(__name__)

# Knobs for scripted runs and tests: how long each pipeline stage and each instance refresh takes.
STAGE_SECONDS_VARIABLE = "BAKERY_SANDBOX_STAGE_SECONDS"
REFRESH_SECONDS_VARIABLE = "BAKERY_SANDBOX_REFRESH_SECONDS"


def _seconds(name: str, default: float) -> float:
    text = os.environ.get(name, "")
    try:
        value = float(text) if text else default
    except ValueError:
        raise SystemExit(f"error: {name}: {text!r} is not a number of seconds") from None
    if not 0 <= value <= 3600:
        raise SystemExit(f"error: {name}: {value} is not between 0 and 3600 seconds")
    return value


def run_sandbox(*, port: int, config: str | None) -> int:
    started = time.monotonic()
    # The console shows the sandbox's and the bot's own lines; the AWS SDK's endpoint notes are noise here.
    for noisy in ("botocore", "boto3", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    signals = {"count": 0}  # a plain counter: an Event's lock, taken in a handler, can deadlock its own waiter

    def on_signal(*_: object) -> None:
        signals["count"] += 1
        if signals["count"] > 1:  # a second Ctrl-C while stopping: give up waiting
            os._exit(130)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    options = SandboxOptions(
        port=port,
        config=config,
        stage_seconds=_seconds(STAGE_SECONDS_VARIABLE, SandboxOptions.stage_seconds),
        refresh_seconds=_seconds(REFRESH_SECONDS_VARIABLE, SandboxOptions.refresh_seconds),
    )
    sandbox = Sandbox(options)
    try:
        sandbox.start()  # stops what it started if it fails
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: sandbox configuration: {problem}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = exc.filename or f"port {port}"
        print(f"error: cannot start the sandbox ({where}): {exc.strerror or exc}", file=sys.stderr)
        return 1
    # Everything loaded so far (moto's backends, botocore's models: some million objects) lives until the
    # end: out of the collector's sight, so neither its sweeps nor the one at exit walk it (that one took ~4 s).
    gc.freeze()
    try:
        took = time.monotonic() - started
        print(
            f"ami-bakery sandbox ready in {took:.1f}s: open {sandbox.url}  (Ctrl-C stops everything)\n"
            f"  try `/bake base` as carol, then approve as alice; `/bake base {FAIL_EXAMPLE}` fails the Test stage\n"
            "  one line per bake, approval and rollout event follows (--log-level INFO shows everything)",
            flush=True,
        )
        # Polled, never an untimed wait: Python runs a signal handler only when the main thread next executes,
        # and a main thread blocked in Event.wait() (whose lock the handler then needed, too) sometimes never
        # did (2 Ctrl-Cs in ~60 during a train did not return). A sleep is interrupted and resumed each time.
        while not signals["count"]:
            time.sleep(0.2)
        print("ami-bakery sandbox: stopping…", file=sys.stderr, flush=True)
    finally:
        sandbox.stop()
    return 0
