"""Two processes, each with threads, race on DynamoDB conditional writes (moto's, made atomic as DynamoDB's are):
exactly one create of a key wins, and no increment of one record is lost. The two-process variant of
tests/state/test_contract.py's races: separate processes share no lock and no client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.state.dynamodb import DynamoStore, ensure_table
from tests.fixtures.aws import new_session

ROOT = Path(__file__).resolve().parents[2]
TABLE = "ami-bakery-contention"
PROCESSES, THREADS, TIMES = 2, 4, 8


def test_two_processes_racing_create_one_key_and_lose_no_update(moto: str, tmp_path: Path) -> None:
    client = new_session().client("dynamodb")
    ensure_table(client, TABLE)
    store = DynamoStore(client, TABLE)
    store.create("counter", "c", {"n": 0})
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.replicas.contender", moto, TABLE, str(go), str(THREADS), str(TIMES)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    assert [r["errors"] for r in results] == [[], []]
    assert sum(r["created"] for r in results) == 1  # one create won, in one process, every other was refused
    record = store.get("counter", "c")
    assert record is not None
    assert (record.doc["n"], record.version) == (PROCESSES * THREADS * TIMES, PROCESSES * THREADS * TIMES + 1)
    assert store.get("claim", "only-one") is not None
