"""What benchmarks/bench_ack.py runs beside `bakery serve`, each in its own process (none shares the clients' GIL).

- The floor: a bare Bolt app, one `/bake` listener that only acks, on bot.server's waitress
  (`python benchmarks/_ack_processes.py PORT`, with SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and SLACK_API_URL set).
- The two replicas' DynamoDB: `moto_server` (moto in the benchmark's own process would run its DynamoDB on the
  clients' interpreter, and every replica's state call would wait on their GIL).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

THREADS = 16  # bakery serve's default --threads


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(proc: subprocess.Popen[bytes], port: int, what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not come up") from None
            time.sleep(0.1)


@contextlib.contextmanager
def dynamodb_process(table: str) -> Iterator[str]:
    """moto_server on a free port with the bot's state table made; yields its endpoint URL."""
    import boto3

    from bot.state.dynamodb import ensure_table

    port = _free_port()
    moto = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_port(proc, port, "moto_server")
        ensure_table(boto3.client("dynamodb", endpoint_url=url), table)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@contextlib.contextmanager
def bare_process(env: Any) -> Iterator[str]:
    """This file's bare Bolt app as its own process (as `bakery serve` is); yields its URL."""
    port = _free_port()
    proc_env = {
        **os.environ,
        "SLACK_BOT_TOKEN": env.slack_bot_token,
        "SLACK_SIGNING_SECRET": env.slack_signing_secret,
        "SLACK_API_URL": env.slack_api_url,
    }
    proc = subprocess.Popen([sys.executable, str(Path(__file__)), str(port)], env=proc_env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_port(proc, port, "the bare Bolt app")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def serve_bare(port: int) -> None:
    """Bolt with the bakery's signing secret, one /bake listener that only acks, on bot.server's waitress."""
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient

    from bot.server import HttpServer

    # The token given to the client only (Bolt would read SLACK_BOT_TOKEN too, and say it goes unused).
    app = App(
        client=WebClient(token=os.environ.pop("SLACK_BOT_TOKEN"), base_url=os.environ["SLACK_API_URL"]),
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        process_before_response=True,  # as the bakery's app (bot/app.py)
    )

    @app.command("/bake")
    def bake(ack: Any) -> None:
        ack()

    server = HttpServer(SlackRequestHandler(app), host="127.0.0.1", port=port, threads=THREADS)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    stop.wait()
    server.stop()


if __name__ == "__main__":
    serve_bare(int(sys.argv[1]))
