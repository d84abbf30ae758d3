"""Graceful stop of `bakery serve` and `bakery socket` on SIGTERM or SIGINT, within BAKERY_STOP_TIMEOUT.

In order, one log line per step with its duration: take no new work (HTTP answers new Slack and SNS requests
503 while those in flight finish; Socket Mode disconnects), stop the loops (the SQS consumer hands back what
it received and did not handle), let the bake workers finish for what is left of the budget, flush the
messages, hand the leases back (another replica leads at once) and close the store. A job still running when
the budget is spent is abandoned: the process exits anyway, and a living replica's recovery finishes it.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from bot.domain.errors import ConfigError

log = logging.getLogger("bakery")

STOP_TIMEOUT_VAR = "BAKERY_STOP_TIMEOUT"
DEFAULT_STOP_TIMEOUT = 60.0
DRAIN_MOST = 10.0  # Slack wants an answer within 3 s: a request still running after this will not be wanted
MARGIN = 1.0  # of the budget, kept for the exit itself


def stop_timeout(environ: Mapping[str, str]) -> float:
    """Seconds a stop may take (BAKERY_STOP_TIMEOUT, default 60); the orchestrator's own must be longer."""
    text = environ.get(STOP_TIMEOUT_VAR, "").strip()
    if not text:
        return DEFAULT_STOP_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise ConfigError([f"{STOP_TIMEOUT_VAR}: {text!r} is not a positive number of seconds"])
    return value


def stop_on_signal() -> threading.Event:
    """An event that SIGINT or SIGTERM sets.

    Installed before the loops start: a signal that arrives while they start (an orchestrator stopping a
    pod that is still coming up) must still stop them cleanly, not kill the process by default action.
    """
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def stop_gracefully(
    bot: Any, budget: float, *, close: Callable[[], object], drain: Callable[[float], int] | None = None
) -> None:
    """Stop taking work (`drain`, then `close` the intake), then the bot, all within `budget` seconds."""
    started = time.monotonic()

    def left() -> float:
        return max(0.0, budget - MARGIN - (time.monotonic() - started))

    log.info("bakery.stopping budget=%.0fs", budget)
    if drain is not None:
        begun = time.monotonic()
        running = drain(min(DRAIN_MOST, left()))
        log.info("bakery.stop step=requests took=%.2fs still_running=%d", time.monotonic() - begun, running)
    begun = time.monotonic()
    close()
    log.info("bakery.stop step=intake took=%.2fs", time.monotonic() - begun)
    begun = time.monotonic()
    unfinished = int(bot.stop(budget=left()))
    log.info("bakery.stop step=bot took=%.2fs jobs_unfinished=%d", time.monotonic() - begun, unfinished)
    log.info("bakery.stopped took=%.2fs", time.monotonic() - started)
    if unfinished:
        # The pool's threads would hold up the interpreter's exit until they end: leave now, as promised.
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

