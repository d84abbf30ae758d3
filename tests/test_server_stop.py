"""The HTTP server stops when asked, not when its loop next wakes by itself (bot/server.py)."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from bot.server import HttpServer


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def test_stop_frees_the_port_at_once_however_long_the_loop_would_sleep():
    server = HttpServer(hello, host="127.0.0.1", port=0, threads=1, loop_timeout=30.0)
    port = server.port
    server.start()

    asked = time.monotonic()
    server.stop()

    # Without the wake-up, stop() would give up joining after 5 s with the loop still asleep.
    assert time.monotonic() - asked < 2.0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_second_stop_changes_nothing():
    server = HttpServer(hello, host="127.0.0.1", port=0, threads=1, loop_timeout=30.0)
    server.start()
    server.stop()
    server.stop()  # the loop closed its trigger: nothing is written to a closed (or reused) descriptor
