"""build_bot twice on one store, as two replicas: /healthz says which leads; a stop hands the lease over at once."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from bot.runtime.leases import LeaseTimes
from tests.fixtures.waiting import wait_for

LOOPS = ("housekeeping", "publisher", "rollout-publisher", "train-publisher", "sqs-intake")


def health(url: str) -> tuple[int, dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/healthz", timeout=10) as resp:  # noqa: S310 - loopback
        return resp.status, json.loads(resp.read())


def test_one_of_two_bots_leads_and_stopping_it_hands_the_lease_to_the_other_within_a_renewal(bakery_factory):
    # A lease of 30 s renewed every 0.1 s: the other leads within moments only if the lease was handed back.
    a = bakery_factory(leases=LeaseTimes(ttl=30, renew_every=0.1, holder="replica-a"))
    b = bakery_factory(leases=LeaseTimes(ttl=30, renew_every=0.1, holder="replica-b"))

    status, doc = health(a.url)
    assert status == 200 and doc["replica"] == "replica-a" and doc["leads"] == {"housekeeping": True, "publisher": True}
    assert doc["loops"] == dict.fromkeys(LOOPS, True)
    status, doc = health(b.url)  # a replica that leads nothing is healthy: it serves Slack and the queue
    assert (
        status == 200 and doc["replica"] == "replica-b" and doc["leads"] == {"housekeeping": False, "publisher": False}
    )

    bakery_factory.stop(a)
    wait_for(lambda: all(health(b.url)[1]["leads"].values()), timeout=5, what="the other bot to lead both loops")
