"""Reading AWS times: one parser for every deadline and event time, and it refuses what it cannot read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.times import iso, parse_time


def test_an_approval_deadline_to_the_minute_reads_as_that_utc_instant():
    assert parse_time("2026-11-26T09:14Z") == datetime(2026, 11, 26, 9, 14, tzinfo=UTC)


def test_event_times_to_the_second_and_below_read_too():
    assert parse_time("2026-11-26T09:14:03Z") == datetime(2026, 11, 26, 9, 14, 3, tzinfo=UTC)
    assert parse_time("2026-11-26T09:14:22.123Z") == datetime(2026, 11, 26, 9, 14, 22, 123000, tzinfo=UTC)


def test_what_iso_writes_reads_back():
    now = datetime(2026, 11, 26, 9, 14, 3, tzinfo=UTC)
    assert parse_time(iso(now)) == now


@pytest.mark.parametrize(
    "text",
    [
        "soon",
        "",
        "2026-02-30T09:14Z",  # the format, but no such day
        "2026-11-26T24:00Z",
        "2026-11-26T09:14",  # no zone: not a time AWS writes
        "2026-11-26T09:14+01:00",
        "2026-11-26 09:14Z",
        "２０２６-11-26T09:14Z",  # full-width digits
    ],
)
def test_a_time_that_does_not_read_is_an_error_not_a_missing_deadline(text):
    with pytest.raises(ValueError) as err:
        parse_time(text)
    assert repr(text)[:20] in str(err.value)
