"""One contending process of test_contention.py: threads racing on one DynamoDB record and one key to create.

Run as `python -m tests.replicas.contender <endpoint> <table> <go-file> <threads> <times>`; waits for the go
file (so both processes start together), then prints {"created": n, "errors": [...]} as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from bot.state.dynamodb import DynamoStore


def _bump(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "n": doc["n"] + 1}


def main(endpoint: str, table: str, go: str, threads: int, times: int) -> None:
    store = DynamoStore(boto3.Session(region_name="eu-west-1").client("dynamodb", endpoint_url=endpoint), table)
    store.get("counter", "c")  # connected and warm before the race starts
    while not os.path.exists(go):
        time.sleep(0.01)
    start = threading.Barrier(threads)
    created: list[bool] = []
    errors: list[str] = []

    def worker(i: int) -> None:
        start.wait()
        try:
            created.append(store.create("claim", "only-one", {"by": f"{os.getpid()}-{i}"}))
            for _ in range(times):
                store.mutate("counter", "c", _bump, attempts=50)
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on any
            errors.append(f"{type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(worker, range(threads)))
    print(json.dumps({"created": sum(created), "errors": errors}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
