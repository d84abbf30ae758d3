"""BAKERY_STOP_TIMEOUT: how long a stop on SIGTERM may take; anything but a positive number is refused at start."""

from __future__ import annotations

import pytest

from bot.domain.errors import ConfigError
from bot.stopping import DEFAULT_STOP_TIMEOUT, stop_timeout


def test_the_budget_defaults_to_a_minute_and_takes_seconds():
    assert stop_timeout({}) == DEFAULT_STOP_TIMEOUT == 60.0
    assert stop_timeout({"BAKERY_STOP_TIMEOUT": " 45.5 "}) == 45.5


@pytest.mark.parametrize("text", ["soon", "0", "-5", "inf", "nan"])
def test_anything_but_a_positive_number_of_seconds_is_refused_naming_the_variable(text):
    with pytest.raises(ConfigError) as refused:
        stop_timeout({"BAKERY_STOP_TIMEOUT": text})
    assert refused.value.problems == [f"BAKERY_STOP_TIMEOUT: {text!r} is not a positive number of seconds"]
