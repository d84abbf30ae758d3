"""(a) `/bake` acknowledgement latency through `bakery serve`, beside a bare Bolt app, at concurrency 1, 10 and 50.

Every request is a real, signed `/bake base …` slash command over HTTP to a `bakery serve` process (its own
process, as in production; moto and the Slack stand-in run in this one). Each bake is recorded, then
committed to a local git repository and posted to the Slack stand-in in the background.

Beside it, in the same run, the floor: a bare Bolt app (benchmarks/_ack_processes.py, its own process too) with the
same signing secret and one `/bake` listener that only calls ack(), served by the same waitress server
(bot.server.HttpServer) with the same thread count (16, `bakery serve`'s default), and Bolt's
process_before_response as the bakery sets it. The same clients send it the same request bodies, one bakery
round and one bare round in turn, so both meet the same machine load. Printed: p50/p99 of each, the bakery/bare
ratio of p99, and how many bakery answers were deferred ("Checking… I will answer here in a moment": the answer
missed its budget, the ack did not).

Twice: one replica (the bot's default SQLite state), then two replicas: two `bakery serve` processes on one
DynamoDB table (moto_server, its own process; SQLite state is for one process only), each with its own work
directory, and two bare processes; each client's socket goes to one of the two ports in turn (a round-robin
without a proxy hop the single replica would not pay).

Bursts: N people type /bake at the same moment: N requests released together from N pre-connected keep-alive
sockets. Once 10 or more bakes are unsettled the bots finish their commits and Slack posts before the next round,
so bursts meet a bot in its ordinary state. `--requests` per concurrency level and app (default 30: 30 rounds of
1, 3 of 10, 1 of 50; more gives steadier p99s). `--seconds S` adds the sustained closed-loop overload test (wrk
when installed) against one replica; `--one-backend dynamodb` puts the one replica on moto_server's DynamoDB too.
Goal (issue 14): bakery/bare p99 at 50 of 1.5 or less.   Run: .venv/bin/python benchmarks/bench_ack.py
(2 to 4 minutes at a load average of 8 to 10 on this 2-core machine: settling the two replicas' commits dominates)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _ack_processes import bare_process, dynamodb_process
from _local import ROOT, local_stack, percentile, serve_process

from bot.sandbox.slack.requests import signature

LEVELS = (1, 10, 50)


def signed(body: str, secret: str) -> dict[str, str]:
    ts = str(int(time.time()))
    sig = signature(secret, ts, body)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sig,
    }


def wait_idle(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as resp:
            health = json.loads(resp.read())
        if health["bake_jobs_pending"] == 0 and health["messages_pending"] == 0:
            return
        time.sleep(0.1)
    raise RuntimeError("the bot did not finish its background work")


def _http_post(host: str, port: int, path: str, body: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body.encode())}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(h.split(b":")[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 200"), (head[:100], body[:300])
    return body


class Target:
    """One app behind one or more ports; client i's socket goes to port i mod len(ports) (a round-robin)."""

    def __init__(self, name: str, urls: list[str], *, background: bool):
        self.name, self.urls, self.background = name, urls, background
        self.socks: list[socket.socket] = []
        self.unsettled = 0  # /bake requests whose background work may still run
        self.deferred = 0  # answered "Checking… I will answer here in a moment" (the answer past its ack budget)

    def connect(self, n: int) -> None:
        for i in range(n):
            parts = urllib.parse.urlsplit(self.urls[i % len(self.urls)])
            sock = socket.create_connection((parts.hostname, parts.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.socks.append(sock)

    def close(self) -> None:
        for sock in self.socks:
            sock.close()
        self.socks = []

    def settle(self, n: int) -> None:
        """After n more requests: once 10 or more are unsettled, waits until every bakery behind the target has
        committed and posted them (a bare app does nothing after its ack)."""
        self.unsettled += n
        if self.background and self.unsettled >= 10:
            for url in self.urls:
                wait_idle(url)
            self.unsettled = 0


def burst(target: Target, secret: str, n: int, label: str) -> list[float]:
    """n simultaneous requests on the target's pre-connected sockets (a lean client: at the start line each thread
    only sends prepared bytes and reads the answer, so the clock measures the server)."""
    from tests.fixtures.bakery import REQUESTER, slash_form

    payloads = []
    for i, sock in enumerate(target.socks[:n]):
        host, port = sock.getpeername()
        body = urllib.parse.urlencode(slash_form(REQUESTER, f"base burst {n} {label} #{i}"))
        payloads.append(_http_post(host, port, "/slack/events", body, signed(body, secret)))
    start_line = threading.Barrier(n)
    bodies: list[bytes] = [b""] * n

    def one(i: int) -> float:
        start_line.wait()
        t0 = time.perf_counter()
        target.socks[i].sendall(payloads[i])
        bodies[i] = _read_response(target.socks[i])
        return (time.perf_counter() - t0) * 1000

    with ThreadPoolExecutor(max_workers=n) as pool:
        latencies = list(pool.map(one, range(n)))
    target.deferred += sum(b"answer here in a moment" in body for body in bodies)
    target.settle(n)
    return latencies


Results = list[tuple[int, list[float], list[float], int]]


def side_by_side(bakery: Target, bare: Target, secret: str, requests: int) -> Results:
    """Per level, bakery and bare rounds in turn, `requests` of each: (level, bakery's, bare's, deferred answers)."""
    results = []
    for n in LEVELS:
        for target in (bakery, bare):
            target.connect(n)
        got: dict[str, list[float]] = {bakery.name: [], bare.name: []}
        bakery.deferred = 0
        try:
            for r in range(max(1, requests // n)):
                for target in (bakery, bare) if r % 2 == 0 else (bare, bakery):
                    got[target.name] += burst(target, secret, n, f"round {r}")
            bakery.settle(10)  # the next level starts on a settled bot
        finally:
            for target in (bakery, bare):
                target.close()
        results.append((n, got[bakery.name], got[bare.name], bakery.deferred))
    return results


def report(title: str, results: Results, started: float) -> None:
    print(f"{title} ({time.monotonic() - started:.0f} s)")
    print(
        f"  {'concurrency':>11} {'requests':>8}  {'bakery p50':>10} {'p99':>7}  {'bare p50':>8} {'p99':>7}  "
        f"{'p99 ratio':>9}  deferred answers"
    )
    for n, ours, floor, deferred in results:
        ratio = percentile(ours, 99) / percentile(floor, 99)
        print(
            f"  {n:>11} {len(ours):>8}  {percentile(ours, 50):>10.1f} {percentile(ours, 99):>7.1f}  "
            f"{percentile(floor, 50):>8.1f} {percentile(floor, 99):>7.1f}  {ratio:>9.2f}  {deferred}"
        )
    sys.stdout.flush()


def warm_up(bakery: Target, bare: Target, secret: str) -> None:
    """Bolt's caches, the git clone, the first connections: a few requests at 1 and one round at 10, not counted."""
    for n, rounds in ((1, 3), (10, 1)):
        for target in (bakery, bare):
            target.connect(n)
            for r in range(rounds):
                burst(target, secret, n, f"warm-up {r}")
            target.close()
    bakery.settle(10)


def sustained(url: str, secret: str, n: int, seconds: int) -> str:
    from tests.fixtures.bakery import REQUESTER, slash_form

    body = urllib.parse.urlencode(slash_form(REQUESTER, "base sustained load"))
    if shutil.which("wrk"):
        lua = ROOT / ".bakery" / "bench-post.lua"
        lua.parent.mkdir(exist_ok=True)
        lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body)}"]
        lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in signed(body, secret).items()]
        lua.write_text("\n".join(lines) + "\n")
        out = subprocess.run(
            ["wrk", f"-t{min(n, 2)}", f"-c{n}", f"-d{seconds}s", "--latency", "-s", str(lua), f"{url}/slack/events"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        got = {
            k: v for k, v in (line.split(None, 1) for line in out.splitlines() if line.strip()[:3] in ("50%", "99%"))
        }
        rps = next(line.split()[-1] for line in out.splitlines() if line.startswith("Requests/sec"))
        errors = "non-2xx" if "Non-2xx" in out else "all 200"
        return f"wrk     p50 {got['50%'].strip():>9} p99 {got['99%'].strip():>9}  {float(rps):7.0f} req/s  ({errors})"
    latencies: list[float] = []
    stop_at = time.monotonic() + seconds

    def client(_: int) -> None:
        while time.monotonic() < stop_at:
            req = urllib.request.Request(f"{url}/slack/events", data=body.encode(), headers=signed(body, secret))
            t0 = time.perf_counter()
            with urllib.request.urlopen(req, timeout=10) as resp:
                resp.read()
            latencies.append((time.perf_counter() - t0) * 1000)

    with ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(client, range(n)))
    return (
        f"python  p50 {percentile(latencies, 50):7.1f}ms p99 {percentile(latencies, 99):7.1f}ms  "
        f"{len(latencies) / seconds:7.0f} req/s  (wrk not installed: clients share the CPUs)"
    )


def replicas(stack: Any, running: contextlib.ExitStack, count: int, backend: str) -> list[str]:
    """`count` bakery serve processes on one state store, each with its own work directory; their URLs."""
    if backend == "sqlite":
        assert count == 1, "SQLite state is for one process only"
        return [running.enter_context(serve_process(stack))]
    dynamodb = running.enter_context(dynamodb_process("ami-bakery-state"))
    return [
        running.enter_context(
            serve_process(
                stack,
                backend="dynamodb",
                extra_env={"AWS_ENDPOINT_URL_DYNAMODB": dynamodb, "BAKERY_WORKDIR": str(stack.root / f"w{i}")},
            )
        )
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="/bake ack latency through bakery serve, beside a bare Bolt app")
    parser.add_argument("--requests", type=int, default=30, help="requests per concurrency level and app (30)")
    parser.add_argument("--seconds", type=int, default=0, help="also a sustained run of S seconds per level (off)")
    parser.add_argument(
        "--one-backend", choices=("sqlite", "dynamodb"), default="sqlite", help="the one replica's state (sqlite)"
    )
    args = parser.parse_args()
    with local_stack() as stack:
        env = stack.environment()
        secret = env.slack_signing_secret
        phases = ((1, args.one_backend, "one replica"), (2, "dynamodb", "two replicas"))
        for count, backend, name in phases:
            started = time.monotonic()
            with contextlib.ExitStack() as running:
                urls = replicas(stack, running, count, backend)
                bare_urls = [running.enter_context(bare_process(env)) for _ in range(count)]
                bakery, bare = Target("bakery", urls, background=True), Target("bare", bare_urls, background=False)
                warm_up(bakery, bare, secret)
                results = side_by_side(bakery, bare, secret, args.requests)
                store = "SQLite" if backend == "sqlite" else "one DynamoDB table in moto_server"
                ports = ", clients alternating between their ports" if count > 1 else ""
                report(f"{name} ({store}){ports}", results, started)
                if args.seconds and count == 1:
                    print(f"  sustained, one replica: {'concurrency':>11}  result")
                    for n in LEVELS:
                        wait_idle(urls[0], timeout=600)
                        print(f"  {'':<23} {n:>11}  {sustained(urls[0], secret, n, args.seconds)}")


if __name__ == "__main__":
    main()
