"""(c) Intake: 2,000 pipeline events for 50 bakes through the SQS consumer.

50 real bakes are requested through `/bake`; then each bake's whole execution (pipeline, stage and action
events, the bake result, plus duplicate deliveries, 40 messages a bake) is put on an SQS queue in
interleaved order, SNS-enveloped as SNS→SQS delivers it. The bot's own consumer drains it.
Prints events per second and Slack calls per bake. Goal: at least 300 events/s, and no more Slack calls
per bake than stages (6) plus a few.       Run: .venv/bin/python benchmarks/bench_intake.py
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections import Counter

from _local import local_bakery

from bot.adapters.sqs_intake import SqsConsumer
from bot.models import STAGES
from bot.sandbox.aws_events import sns_envelope

BAKES = 50
PER_BAKE = 40


def execution_messages(bakery, rid: str, commit: str) -> list[dict]:
    ex = bakery.start_execution("base", commit)
    clock = iter(range(0, 10_000, 3))

    def t() -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_795_000_000 + next(clock)))

    out = [bakery.event(ex, "STARTED", time=t())]
    for stage in STAGES:
        out.append(bakery.event(ex, "STARTED", stage, time=t()))
        out.append(bakery.event(ex, "STARTED", stage, stage, time=t()))
        if stage == "Bake":
            out.append(bakery.result(ex, rid, commit, [("eu-west-1", f"ami-{random.getrandbits(68):017x}")]))
        out.append(bakery.event(ex, "SUCCEEDED", stage, stage, time=t()))
        out.append(bakery.event(ex, "SUCCEEDED", stage, time=t()))
    out.append(bakery.event(ex, "SUCCEEDED", time=t()))
    while len(out) < PER_BAKE:  # at-least-once delivery: duplicates of random earlier events
        out.append(random.choice(out[1:-1]))
    return out


def main() -> None:
    from tests.fixtures.bakery import REQUESTER

    random.seed(7)
    with local_bakery(publish_interval=1.0) as bakery:
        rids = []
        for i in range(BAKES):
            text = bakery.command(REQUESTER, f"base bench {i}")["text"]
            rids.append(text.split("`")[1])
        commits = {rid: bakery.commit_of(rid) for rid in rids}
        bakery.wait(lambda: bakery.services.publisher.pending() == 0, timeout=60, what="first messages")
        streams = [execution_messages(bakery, rid, commits[rid]) for rid in rids]
        # Interleave the bakes' streams, each in order, as concurrent pipelines would produce them.
        bodies: list[str] = []
        cursors = [0] * BAKES
        while len(bodies) < BAKES * PER_BAKE:
            i = random.randrange(BAKES)
            if cursors[i] < PER_BAKE:
                bodies.append(json.dumps(sns_envelope(streams[i][cursors[i]], topic_arn=bakery.topic_arn)))
                cursors[i] += 1
        bench_queue = bakery.sqs.create_queue(QueueName="bench-intake")["QueueUrl"]
        for n in range(0, len(bodies), 10):
            bakery.sqs.send_message_batch(
                QueueUrl=bench_queue,
                Entries=[{"Id": str(j), "MessageBody": b} for j, b in enumerate(bodies[n : n + 10])],
            )
        calls_before = len(bakery.slack.calls())
        consumer = SqsConsumer(bakery.sqs, bench_queue, bakery.services.intake.handle, wait_seconds=0)
        handled = failed = 0
        started = time.perf_counter()
        while handled < len(bodies):
            result = consumer.poll_once()
            handled += result.handled
            failed += result.failed
            if result.received == 0 and failed:
                break
        elapsed = time.perf_counter() - started
        bakery.wait(
            lambda: all(bakery.services.bakes.get(r).status == "succeeded" for r in rids), timeout=60, what="all done"
        )
        bakery.wait(lambda: bakery.services.publisher.pending() == 0, timeout=60, what="Slack settled")
        time.sleep(1.5)
        bakery.services.publisher.flush()
        ts_of = {bakery.services.bakes.get(r).message_ts: r for r in rids}
        per_bake: Counter[str] = Counter()
        for call in bakery.slack.calls()[calls_before:]:
            ts = call.args.get("ts") or call.args.get("thread_ts")
            if ts in ts_of:
                per_bake[ts_of[ts]] += 1
        counts = [per_bake[r] for r in rids]
        print(f"events: {handled} handled, {failed} failed, in {elapsed:.2f} s -> {handled / elapsed:.0f} events/s")
        print(
            f"Slack calls per bake during intake: mean {statistics.mean(counts):.1f}, max {max(counts)}, "
            f"min {min(counts)} (stages: {len(STAGES)})"
        )


if __name__ == "__main__":
    main()
