"""(a) `/bake` acknowledgement latency through `bakery serve`, at concurrency 1, 10 and 50.

Each request is a real, signed `/bake base …` slash command over HTTP to the running server; the bot
records the bake and commits it in the background, so acks are measured while commits run.
Goal: p99 under 100 ms at concurrency 50.   Run: .venv/bin/python benchmarks/bench_ack.py
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from _local import local_bakery, percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per concurrency level")
    args = parser.parse_args()
    from tests.fixtures.bakery import REQUESTER, slash_form

    with local_bakery() as bakery:
        bakery.command(REQUESTER, "base warm-up")  # first request builds Bolt's caches and the git clone
        print(f"{'concurrency':>11} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for concurrency in (1, 10, 50):
            latencies: list[float] = []

            def one(i: int, concurrency: int = concurrency, latencies: list[float] = latencies) -> None:
                started = time.perf_counter()
                status, body = bakery.post_slack(slash_form(REQUESTER, f"base bench c{concurrency} #{i}"))
                latencies.append((time.perf_counter() - started) * 1000)
                assert status == 200 and "requested" in body, (status, body)

            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                list(pool.map(one, range(args.requests)))
            print(
                f"{concurrency:>11} {len(latencies):>8} {percentile(latencies, 50):>8.1f} "
                f"{percentile(latencies, 99):>8.1f} {max(latencies):>8.1f}"
            )


if __name__ == "__main__":
    main()
