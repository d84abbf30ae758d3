"""Drain rate of moto's SQS server against FakeSqs: receive(10) + delete_message_batch of ~1.5 KB messages.

Only the drain is timed, not the sends. moto's receive and delete scan the whole queue, so its rate falls as
the queue grows (~7 msg/s at 2,000); it drains a smaller queue by default (--moto-messages) to stay short,
which flatters it.
Run: .venv/bin/python benchmarks/bench_sqs_backends.py [--messages 2000] [--moto-messages 300]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.sandbox.aws.fake_sqs import FakeSqs

BODY = '{"detail": "' + "x" * 1480 + '"}'  # ~1.5 KB, the size of an SNS-enveloped pipeline event


def drain_rate(endpoint: str, count: int) -> float:
    """Fills a fresh queue with `count` messages and returns the drain rate in messages per second."""
    sqs = boto3.client("sqs", region_name="eu-west-1", endpoint_url=endpoint)
    url = sqs.create_queue(QueueName=f"bench-{time.monotonic_ns()}")["QueueUrl"]
    for start in range(0, count, 10):
        entries = [{"Id": str(i), "MessageBody": BODY} for i in range(min(10, count - start))]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    drained = 0
    started = time.perf_counter()
    while drained < count:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") or []
        if not messages:
            raise RuntimeError(f"queue ran dry after {drained} of {count} messages")
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        failed = sqs.delete_message_batch(QueueUrl=url, Entries=entries).get("Failed")
        if failed:
            raise RuntimeError(f"delete failed: {failed}")
        drained += len(messages)
    return drained / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages drained from FakeSqs")
    parser.add_argument("--moto-messages", type=int, default=300, help="messages drained from moto (it is slow)")
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]  # never reach a real account: both endpoints are on loopback
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="eu-west-1")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    try:
        host, port = moto.get_host_and_port()
        moto_rate = drain_rate(f"http://{host}:{port}", args.moto_messages)
    finally:
        moto.stop()
    with FakeSqs() as fake:
        fake_rate = drain_rate(fake.endpoint, args.messages)
    print(f"moto server : {moto_rate:8.1f} msg/s  ({args.moto_messages} messages only, to keep it short;")
    print("                                  moto scans the queue per call, so at 2,000 it is slower still)")
    print(f"FakeSqs     : {fake_rate:8.1f} msg/s  ({args.messages} messages, {args.messages / fake_rate:.1f} s)")


if __name__ == "__main__":
    main()
