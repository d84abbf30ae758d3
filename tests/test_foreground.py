"""Acks first: background work waits while Slack requests are in flight, but never beyond its limit."""

from __future__ import annotations

import threading
import time

from bot.runtime.foreground import Foreground


def test_with_nothing_in_flight_background_work_goes_at_once():
    gate = Foreground(quiet_for=0.0, max_wait=5)
    started = time.monotonic()
    gate.wait_quiet()
    assert time.monotonic() - started < 0.1


def test_background_work_waits_for_a_request_to_finish():
    gate = Foreground(quiet_for=0.0, max_wait=5)
    finished_at: list[float] = []
    entered, released = threading.Event(), threading.Event()

    def request() -> None:
        with gate.request():
            entered.set()
            released.wait()
            finished_at.append(time.monotonic())

    t = threading.Thread(target=request)
    t.start()
    assert entered.wait(5), "the request never started"
    threading.Timer(0.2, released.set).start()
    gate.wait_quiet()
    resumed = time.monotonic()
    t.join()
    assert resumed >= finished_at[0]


def test_background_work_is_never_starved():
    gate = Foreground(quiet_for=0.0, max_wait=0.2)
    entered, hold = threading.Event(), threading.Event()

    def request() -> None:
        with gate.request():
            entered.set()
            hold.wait(5)

    t = threading.Thread(target=request)
    t.start()
    assert entered.wait(5), "the request never started"
    started = time.monotonic()
    gate.wait_quiet()
    waited = time.monotonic() - started
    hold.set()
    t.join()
    assert 0.15 <= waited < 1.0
