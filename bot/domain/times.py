"""Times: one way to write and read them (ISO 8601, UTC, "Z"); code compares datetimes, never their text."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time as an aware UTC datetime; ValueError when it is not one.

    Reads what the bot writes (`iso`) and what AWS sends: minute precision ("2026-11-26T09:14Z", approval
    expiries), fractional seconds, "Z" or an offset. A time without an offset is UTC, as everything here is.
    """
    parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
