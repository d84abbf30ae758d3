"""Times as Slack shows them: in each reader's own time zone, with the UTC text as fallback."""

from __future__ import annotations

from bot.domain.times import parse_time


def _epoch(iso_time: str) -> int | None:
    try:
        return int(parse_time(iso_time).timestamp())
    except ValueError:
        return None


def slack_date(iso_time: str) -> str:
    """A time every reader sees in their own time zone, with the UTC text as fallback."""
    epoch = _epoch(iso_time)
    return f"<!date^{epoch}^{{date_short_pretty}} {{time_secs}}|{iso_time}>" if epoch is not None else iso_time


def duration(start: str, end: str) -> str:
    a, b = _epoch(start), _epoch(end)
    if a is None or b is None or b < a:
        return ""
    secs = b - a
    if secs < 60:
        return f"{secs}s"
    if secs < 3600:
        return f"{secs // 60}m {secs % 60:02d}s"
    return f"{secs // 3600}h {secs % 3600 // 60:02d}m"


def expiry_text(expires: str) -> str:
    """An approval's deadline; CodePipeline sends it to the minute ("2026-11-26T09:14Z")."""
    return slack_date(expires.replace("Z", ":00Z") if len(expires) == 17 else expires)
