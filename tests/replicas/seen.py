"""What the process-level replica tests look at: the messages naming a record, which leases a replica holds,
and the shortened clocks of §15 they run the replicas with (tests/replicas/serve.py)."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.replicas.harness import Replicas

# Leases of 3 s renewed every second, recovery every second, claims (and image locks) of 4 s.
FAST = {
    "BAKERY_TEST_LEASE_TTL": "3",
    "BAKERY_TEST_LEASE_RENEW": "1",
    "BAKERY_TEST_RECOVER_EVERY": "1",
    "BAKERY_TEST_CLAIM_SECONDS": "4",
}
LEASES = ("housekeeping", "publisher")


def naming(message: dict[str, Any], record_id: str) -> bool:
    """The message names the record: in its text, its blocks or its metadata (the publisher's record id)."""
    shown = message.get("text", "") + json.dumps(message.get("blocks")) + json.dumps(message.get("metadata"))
    return re.search(rf"\b{re.escape(record_id)}\b", shown) is not None


def top_level(replicas: Replicas, record_id: str) -> list[dict[str, Any]]:
    """Every top-level channel message naming the record (private answers aside)."""
    return [
        m for m in replicas.messages() if not m.get("thread_ts") and not m.get("ephemeral_to") and naming(m, record_id)
    ]


def leads(replicas: Replicas, i: int) -> dict[str, bool]:
    """Which of the leases replica `i` holds, by its /healthz."""
    return {name: bool(replicas.health(i)["leads"].get(name)) for name in LEASES}


def start_led_by(replicas: Replicas, env: dict[int, dict[str, str]]) -> None:
    """Replica 0 started first and leading every lease, then replica 1 (its leases' follower)."""
    replicas.launch(0, env[0])
    replicas.wait(lambda: all(leads(replicas, 0).values()), what="replica 0 leading housekeeping and the publishers")
    replicas.launch(1, env[1])
