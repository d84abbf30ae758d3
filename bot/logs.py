"""How the `bakery` command logs: everything at the chosen level, or the sandbox's quiet terminal.

The bot logs one `event.name key=value …` line per thing it does, about forty for one bake. A person at the
sandbox's terminal wants the few that say what happened to a bake, an approval or a rollout; `--log-level`
gives the full log back. `--log-format json` writes each record as one JSON object per line instead: its event,
its fields (read from the call's format string and arguments, bot/observe/logfields.py) and the ids bound where
the record was made (bot/observe/context.py).
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from bot.observe.logfields import json_formatter

FULL_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
LOG_FORMATS = ("text", "json")
# The lines a person follows a bake, an approval and a rollout by, one each (CONTRACT §11's flow).
EVENTS = frozenset(
    {
        "bake.opened",
        "bake.discovered",
        "sandbox.execution_started",
        "sandbox.stage_failed",
        "sandbox.execution_ended",
        "approval.opened",
        "approval.decided",
        "rollout.opened",
        "rollout.started",
        "rollout.ended",
        "sandbox.upstream_released",  # the release train's first step (CONTRACT §12)
        "upstream.moved",
    }
)


def event_name(record: logging.LogRecord) -> str:
    """The event a record reports: the first word of its format string."""
    return str(record.msg).split(" ", 1)[0]


class EventsOnly(logging.Filter):
    """Passes the event lines of EVENTS and every warning or error; drops the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or event_name(record) in EVENTS


class TerseFormatter(logging.Formatter):
    """`12:06:06 bake.opened request_id=…`; warnings and errors keep their level and logger's name."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(message)s", datefmt="%H:%M:%S")
        self._loud = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return self._loud.format(record) if record.levelno >= logging.WARNING else super().format(record)


def configure(
    level: str | None, *, quiet_default: bool, stream: TextIO | None = None, log_format: str = "text"
) -> None:
    """Set up the root logger once: `level` when given, else INFO, or the quiet terminal when `quiet_default`;
    `log_format` "json" renders every record as one JSON object per line (the quiet terminal's filter stays)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    quiet = level is None and quiet_default
    if quiet:
        handler.addFilter(EventsOnly())
    if log_format == "json":
        handler.setFormatter(json_formatter())
    elif quiet:
        handler.setFormatter(TerseFormatter())
    else:
        handler.setFormatter(logging.Formatter(FULL_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level or "INFO")
    effective = root.level
    # The Slack SDK logs request bodies at DEBUG; keep them out of the bot's logs.
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, effective))
    # waitress warns on every request that waits for a thread; bursts are normal here, and the warning
    # itself costs time when they happen.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
