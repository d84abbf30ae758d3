"""Counted nouns: one is singular, every other count plural."""

from __future__ import annotations

import pytest

from bot.domain.counts import count


@pytest.mark.parametrize(
    "n, words",
    [(0, "0 targets"), (1, "1 target"), (2, "2 targets"), (-1, "-1 targets")],
)
def test_one_is_singular_and_every_other_count_plural(n, words):
    assert count(n, "target") == words


def test_a_noun_with_its_own_plural():
    assert [count(n, "try", "tries") for n in (1, 3)] == ["1 try", "3 tries"]
