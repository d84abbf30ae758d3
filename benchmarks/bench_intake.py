"""(c) Intake: 2,000 pipeline events for 50 bakes through the bot's SQS consumer.

A `bakery serve` process (its own process, as in production) follows 50 bakes requested through `/bake`.
Each bake's whole execution (pipeline, stage and action events, the bake result, and duplicate deliveries:
40 messages a bake) is put on its queue SNS-enveloped, as SNS->SQS delivers it, the bakes interleaved.
The clock runs from the first message sent until every bake's Slack message shows it succeeded.

The queue is served by bot/sandbox/aws/fake_sqs/ (the SQS JSON protocol, in memory): moto's SQS drains
2,000 messages at about 7 msg/s by itself (benchmarks/bench_sqs_backends.py), which would measure moto.
Goal: at least 300 events/s, and no more Slack calls per bake than stages (6) plus a few.
Run: .venv/bin/python benchmarks/bench_intake.py
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import time
from collections import Counter

from _local import local_stack, serve_process

from bot.domain.models import STAGES
from bot.sandbox.aws.events import sns_envelope
from bot.sandbox.aws.fake_sqs import FakeSqs

BAKES = 50
PER_BAKE = 40


def execution_messages(stack, rid: str, commit: str) -> list[dict]:
    bakery = stack.attach("")
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


def commits_by_request(bare) -> dict[str, str]:
    log = subprocess.run(
        ["git", "-C", str(bare), "log", "--format=%H %(trailers:key=Bakery-Request,valueonly)", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    out = {}
    for line in log.splitlines():
        sha, _, rid = line.partition(" ")
        if rid.strip():
            out[rid.strip()] = sha
    return out


def main() -> None:
    from tests.fixtures.bakery import REQUESTER

    random.seed(7)
    with FakeSqs() as sqs_server:
        with (
            local_stack({"AWS_ENDPOINT_URL_SQS": sqs_server.endpoint}) as stack,
            serve_process(stack) as url,
        ):
            bakery = stack.attach(url)
            rids = [bakery.command(REQUESTER, f"base bench {i}")["text"].split("`")[1] for i in range(BAKES)]
            commits = bakery.wait(
                lambda: (c := commits_by_request(stack.repos["base"])) and set(rids) <= set(c) and c,
                timeout=120,
                what="50 commits",
            )
            bakery.wait(
                lambda: all(
                    bakery.bake_message(r) and "Commit" in json.dumps(bakery.bake_message(r)["blocks"]) for r in rids
                ),
                timeout=60,
                what="50 bake messages",
            )
            streams = [execution_messages(stack, rid, commits[rid]) for rid in rids]
            bodies: list[str] = []
            cursors = [0] * BAKES
            while len(bodies) < BAKES * PER_BAKE:  # interleave the bakes, each stream in order
                i = random.randrange(BAKES)
                if cursors[i] < PER_BAKE:
                    bodies.append(json.dumps(sns_envelope(streams[i][cursors[i]], topic_arn=stack.topic_arn)))
                    cursors[i] += 1
            calls_before = len(stack.slack_api.calls())
            started = time.perf_counter()
            for n in range(0, len(bodies), 10):
                stack.sqs.send_message_batch(
                    QueueUrl=stack.queue_url,
                    Entries=[{"Id": str(j), "MessageBody": b} for j, b in enumerate(bodies[n : n + 10])],
                )
            bakery.wait(
                lambda: all("succeeded" in (bakery.bake_message(r) or {}).get("text", "") for r in rids),
                timeout=300,
                what="all bakes succeeded in Slack",
            )
            elapsed = time.perf_counter() - started
            time.sleep(2)  # let the last coalesced edits land before counting
            attrs = stack.sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["All"])["Attributes"]
            ts_of = {bakery.bake_message(r)["ts"]: r for r in rids}
            per_bake: Counter[str] = Counter()
            for call in stack.slack_api.calls()[calls_before:]:
                ts = call.args.get("ts") or call.args.get("thread_ts")
                if ts in ts_of:
                    per_bake[ts_of[ts]] += 1
            counts = [per_bake[r] for r in rids]
            print(
                f"events: {len(bodies)} for {BAKES} bakes in {elapsed:.2f} s -> {len(bodies) / elapsed:.0f} events/s "
                f"(queue left: {attrs['ApproximateNumberOfMessages']} visible, "
                f"{attrs['ApproximateNumberOfMessagesNotVisible']} in flight)"
            )
            print(
                f"Slack calls per bake while following it: mean {statistics.mean(counts):.1f}, "
                f"min {min(counts)}, max {max(counts)} (stages: {len(STAGES)})"
            )


if __name__ == "__main__":
    main()
