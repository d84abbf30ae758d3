"""Counted nouns in messages: "1 target", "2 targets", never "1 targets"."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and `noun`, the noun plural unless `n` is exactly one (`plural` for nouns not made with -s)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
