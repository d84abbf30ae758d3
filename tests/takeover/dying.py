"""A replica 'dying' at a failpoint, in-process: the failpoint raises, so the job stops right there and nothing
after it runs (no record update, no cleanup), as with SIGKILL; and the claim it held running out."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest

from bot.runtime import failpoints


class Died(Exception):
    """The test's stand-in for SIGKILL at a failpoint."""


def die_once_at(monkeypatch: pytest.MonkeyPatch, point: str) -> threading.Event:
    """The first pass through `point` raises Died (any replica's: the first one there); later ones go on."""
    real, fired = failpoints.failpoint, threading.Event()

    def fail(name: str) -> None:
        if name == point and not fired.is_set():
            fired.set()
            raise Died(name)
        real(name)

    monkeypatch.setattr(failpoints, "failpoint", fail)
    return fired


def hold_once_at(monkeypatch: pytest.MonkeyPatch, point: str) -> tuple[threading.Event, threading.Event]:
    """The first pass through `point` waits there until released: a live replica in the middle of the work.

    Returns (reached, release)."""
    real, reached, release = failpoints.failpoint, threading.Event(), threading.Event()

    def hold(name: str) -> None:
        if name == point and not reached.is_set():
            reached.set()
            release.wait(30)
        real(name)

    monkeypatch.setattr(failpoints, "failpoint", hold)
    return reached, release


def request_id_of(answer: dict[str, Any]) -> str:
    match = re.search(r"`(b-[a-z0-9]+)`", answer.get("text", ""))
    assert match, answer
    return match.group(1)
