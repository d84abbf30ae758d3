"""A `bakery sandbox --log-level INFO` process's log, read from a benchmark: each line's time, event and fields.

At INFO the sandbox logs in `bot.logs.FULL_FORMAT` (`2026-12-01 15:16:04,252 INFO <logger> <event> k=v …`), to
the millisecond (truncated), in local time: run the sandbox with TZ=UTC and the times read here are UTC.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable
from typing import Any

LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) \S+ \S+ (\S+)(.*)$")


class Log:
    """The sandbox's stderr (FULL_FORMAT lines) as (time, event, fields), parsed as it grows."""

    def __init__(self, lines: list[str]):
        self._lines, self._seen, self.events = lines, 0, []

    def find(self, event: str, since: int = 0, **want: str) -> tuple[float, dict[str, str]] | None:
        while self._seen < len(self._lines):
            match = LINE.match(self._lines[self._seen])
            self._seen += 1
            if match:
                at = calendar.timegm(time.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")) + int(match.group(2)) / 1000
                fields = dict(kv.split("=", 1) for kv in match.group(4).split() if "=" in kv)
                self.events.append((at, match.group(3), fields))
        for at, name, fields in self.events[since:]:
            if name == event and all(fields.get(k) == v for k, v in want.items()):
                return at, fields
        return None


def wait(predicate: Callable[[], Any], what: str, timeout: float, poll: float, box: Any) -> Any:
    """predicate()'s first true answer, looked for every `poll` s; RuntimeError after `timeout` or if `box` ended."""
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        if time.monotonic() > deadline or box.proc.poll() is not None:
            raise RuntimeError(f"no {what} within {timeout}s; sandbox stderr:\n" + "".join(box.stderr[-20:]))
        time.sleep(poll)
    return found
