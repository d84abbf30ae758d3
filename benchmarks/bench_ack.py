"""(a) `/bake` acknowledgement latency through `bakery serve`, at concurrency 1, 10 and 50.

Every request is a real, signed `/bake base …` slash command over HTTP to a `bakery serve` process (its own
process, as in production; moto and the Slack stand-in run in this one). Each bake is recorded, then
committed to a local git repository and posted to the Slack stand-in in the background.

Two measurements:
  burst      N people type /bake at the same moment: N requests released together, repeated for
             --rounds rounds; between rounds the bot finishes the commits and Slack posts the burst
             started, so every burst meets a bot in its ordinary state. This is the goal's measure.
  sustained  N clients send back to back for --seconds: a closed-loop overload test (hundreds of bakes
             a second, far beyond any bakery), which shows throughput and what queueing does to
             latency. Uses wrk (Debian package `wrk`) when installed; otherwise Python clients, which
             then share this machine's CPUs with the server and inflate the figures.
Goal: p99 under 100 ms at concurrency 50.        Run: .venv/bin/python benchmarks/bench_ack.py  (about 5 min:
each sustained run creates a thousand bakes or more, and the next waits until they are committed)
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

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
    assert head.startswith(b"HTTP/1.1 200") and b"requested" in body, head[:100]
    return body


def burst(url: str, secret: str, n: int, rounds: int) -> list[float]:
    """Rounds of n simultaneous requests from n pre-connected keep-alive sockets (a lean client: at the start
    line each thread only sends prepared bytes and reads the answer, so the clock measures the server)."""
    from tests.fixtures.bakery import REQUESTER, slash_form

    host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
    latencies: list[float] = []
    socks = [socket.create_connection((host, port)) for _ in range(n)]
    for sock in socks:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        for r in range(rounds):
            payloads = []
            for i in range(n):
                body = urllib.parse.urlencode(slash_form(REQUESTER, f"base burst {n} round {r} #{i}"))
                payloads.append(_http_post(host, port, "/slack/events", body, signed(body, secret)))
            start_line = threading.Barrier(n)

            def one(i: int, payloads: list[bytes] = payloads, start_line: threading.Barrier = start_line) -> float:
                start_line.wait()
                t0 = time.perf_counter()
                socks[i].sendall(payloads[i])
                _read_response(socks[i])
                return (time.perf_counter() - t0) * 1000

            with ThreadPoolExecutor(max_workers=n) as pool:
                latencies += list(pool.map(one, range(n)))
            wait_idle(url)
    finally:
        for sock in socks:
            sock.close()
    return latencies


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


def main() -> None:
    parser = argparse.ArgumentParser(description="/bake ack latency through bakery serve")
    parser.add_argument("--rounds", type=int, default=20, help="bursts per concurrency level (default 20)")
    parser.add_argument("--seconds", type=int, default=2, help="length of each sustained run (default 2)")
    args = parser.parse_args()
    with local_stack() as stack, serve_process(stack) as url:
        secret = stack.environment().slack_signing_secret
        burst(url, secret, 1, 3)  # warm-up: Bolt's caches and the git clone
        print(f"{'burst':<10} {'concurrency':>11} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for n in LEVELS:
            lat = burst(url, secret, n, args.rounds if n > 1 else args.rounds * 5)
            print(
                f"{'':<10} {n:>11} {len(lat):>8} {percentile(lat, 50):>8.1f} {percentile(lat, 99):>8.1f} "
                f"{max(lat):>8.1f}"
            )
        print(f"{'sustained':<10} {'concurrency':>11}  result")
        for n in LEVELS:
            wait_idle(url, timeout=600)
            print(f"{'':<10} {n:>11}  {sustained(url, secret, n, args.seconds)}")


if __name__ == "__main__":
    main()
