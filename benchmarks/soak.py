"""Soak (issue 14 item 4): steady mixed load against two `bakery serve` replicas on one local world, then every
effect counted against what was asked, each replica's RSS growth, and every ERROR line the replicas logged.

The world is the replica tests' (tests/replicas/world.py: moto with one DynamoDB table and one queue, the local
CodePipeline, CodeCommit, Auto Scaling and EC2 behind the fault proxy, the Slack stand-in), derived from
benchmarks/bakery.soak.yaml (base, web on base, target web-prod); the replicas are the tests' harness's
(tests/replicas/harness.py). The load (benchmarks/_soak_load.py): bakes of base and web in turn, every approval
pressed twice (once on each replica), an upstream AMI change now and then (a train: its base bake, then Rebake
web), a rollout of web-prod now and then (pressed on both replicas). A warm-up (load running) comes first; RSS is
read after it and at the end. Then no new work, until everything asked has finished (or --drain s passed).

Printed: each effect per record (commits per /bake, train bakes per upstream change and per Rebake, top-level
messages per bake, train and rollout, put_approval_result per approval, instance refreshes per rollout), each
replica's RSS and growth, every ERROR line (the expected ones named), a PASS/FAIL line per criterion. Exits 1 on
any FAIL. Not part of `make test`.

Run: .venv/bin/python benchmarks/soak.py [--minutes 10] [--rate 4] [--warmup 60]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from _soak_load import Load
from _soak_report import Report, effects, errors, memory, rss_kib, summarise
from _soak_world import soak_world


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="measured load, after the warm-up")
    parser.add_argument("--rate", type=float, default=4.0, help="/bake requests a minute (base and web in turn)")
    parser.add_argument("--warmup", type=float, default=60.0, help="s of load before RSS is first read")
    parser.add_argument("--upstream-every", type=float, default=150.0, help="s between upstream AMI changes")
    parser.add_argument("--rollout-every", type=float, default=120.0, help="s between rollouts of web-prod")
    parser.add_argument("--drain", type=float, default=180.0, help="s to wait, after the load, for what was asked")
    parser.add_argument("--dump", default="", help="write the channel's messages (JSON) to this file at the end")
    parser.add_argument("--stage-seconds", type=float, default=0.05, help="the local pipeline's pause per stage")
    args = parser.parse_args()

    started = time.monotonic()
    with soak_world(args.stage_seconds) as replicas:
        pids = {i: replicas.process(i).pid for i in (0, 1)}
        load = Load(replicas, rate=args.rate, upstream_every=args.upstream_every, rollout_every=args.rollout_every)
        print(f"world up in {time.monotonic() - started:.1f} s; replicas {pids}; load {os.getloadavg()[0]:.1f}")
        warm_until = time.monotonic() + args.warmup
        until = warm_until + 60.0 * args.minutes
        rss_start: dict[int, int] = {}
        while time.monotonic() < until:
            if not rss_start and time.monotonic() >= warm_until:
                rss_start = {i: rss_kib(pid) for i, pid in pids.items()}
                print(f"warm-up over: RSS {rss_start} KiB; {summarise(load.asked, args.warmup)}", flush=True)
            load.tick(adding=True)
            time.sleep(1.0)
        loaded = time.monotonic() - started
        print(f"load over: {summarise(load.asked, loaded)}; draining", flush=True)
        drain_until = time.monotonic() + args.drain
        while time.monotonic() < drain_until and (load.busy() or _rollouts_pending(load)):
            load.tick(adding=False)
            time.sleep(1.0)
        for i in (0, 1):
            replicas.wait_idle(i, timeout=60)
        rss_end = {i: rss_kib(pid) for i, pid in pids.items()}
        logs = {i: replicas.logs(i) for i in (0, 1)}
        if args.dump:
            with open(args.dump, "w") as out:
                json.dump({"messages": replicas.messages(), "logs": logs}, out, indent=1)
        report = Report()
        report.say(f"== soak: {args.minutes:g} min after a {args.warmup:g} s warm-up, rate {args.rate:g}/min")
        effects(report, load)
        memory(report, rss_start or rss_end, rss_end)
        errors(report, logs)
        print(report.text())
        print(f"took {(time.monotonic() - started) / 60:.1f} min; load average now {os.getloadavg()[0]:.1f}")
    return 0 if report.passed else 1


def _rollouts_pending(load: Load) -> bool:
    return load.r.refreshes_started() < len(load.asked.rollouts)


if __name__ == "__main__":
    sys.exit(main())
