"""Times: one way to write and read them (ISO 8601, UTC, "Z")."""

from __future__ import annotations

import re
from datetime import UTC, datetime

# What AWS sends: CodePipeline's approval deadline to the minute ("2026-11-26T09:14Z"), events and SNS to the
# second or below. Always UTC with "Z": a time without a zone, or with another one, is not one AWS writes.
# [0-9], not \d, which also matches non-ASCII digits.
TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?Z")


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """The UTC instant an AWS time names; ValueError, quoting it, when it is not a real one in that format."""
    if not isinstance(text, str) or not TIME_RE.fullmatch(text):
        raise ValueError(f"{text!r:.60} is not a UTC time like 2026-11-26T09:14Z")
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        raise ValueError(f"{text!r} is not a real date and time") from None
