"""SIGTERM to a replica in the middle of a bake (CONTRACT §15, issue 14 item 3): it finishes the commit it had
started, hands the queue's messages it was receiving back (visible at once, not after the visibility timeout)
and its leases (the other leads within a renewal, not a lease's length), and exits 0 within BAKERY_STOP_TIMEOUT;
the other replica finishes the bake, once.

Which replica gets which queue message is SQS's choice; to make it replica 0's, replica 1 polls short
(BAKERY_TEST_SQS_WAIT=0) and its receives fail (503 at the fault proxy) from just before the SIGTERM until
replica 0 has exited, while replica 0's long poll, sent before, is still open at the queue.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.fixtures.aws import new_session
from tests.replicas.harness import REQUESTER, Replicas
from tests.replicas.seen import leads, top_level
from tests.replicas.test_faults import bake_through
from tests.replicas.test_two_replicas import request_id_of

pytestmark = pytest.mark.xdist_group("replicas")
VISIBILITY = 30  # the world's default: a message not handed back stays hidden this long
TTL, RENEW, BUDGET = 10.0, 1.0, 15.0
TIMES = {
    "BAKERY_TEST_LEASE_TTL": str(TTL),
    "BAKERY_TEST_LEASE_RENEW": str(RENEW),
    "BAKERY_TEST_RECOVER_EVERY": "1",
    "BAKERY_TEST_CLAIM_SECONDS": "4",
}


def queue_depth(replicas: Replicas) -> int:
    """Messages on the queue, visible or taken and not deleted (moto itself, not through the proxy)."""
    sqs = new_session().client("sqs")
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    got = sqs.get_queue_attributes(QueueUrl=replicas.world.queue_url, AttributeNames=names)["Attributes"]
    return sum(int(got[n]) for n in names)


def test_sigterm_mid_bake_hands_back_messages_and_leases_exits_0_and_the_other_finishes(replicas: Replicas) -> None:
    faults = replicas.world.faults
    replicas.launch(0, {**TIMES, "BAKERY_STOP_TIMEOUT": str(BUDGET)})
    replicas.wait(lambda: all(leads(replicas, 0).values()), what="replica 0 leading")
    replicas.launch(1, {**TIMES, "BAKERY_TEST_SQS_WAIT": "0"})
    replicas.wait_idle(0)

    faults.add("sqs", "ReceiveMessage", "503", times=None)  # replica 1's short polls, from now
    rid = request_id_of(replicas.post_command(0, REQUESTER, "base --force stopped mid-bake"))
    asked = time.monotonic()
    replicas.terminate(0)  # SIGTERM, with the bake's commit under way on replica 0's worker
    status = replicas.wait_exit(0, timeout=BUDGET + 5)
    stopped = time.monotonic()
    faults.clear()  # replica 1 receives again (it retries with back-off: within a few seconds)
    said = replicas.logs(0)
    assert status == 0, said[-3000:]
    assert stopped - asked < BUDGET
    assert "bake.committed" in said  # the job in flight was finished, not dropped
    handed = re.search(r"sqs\.released count=(\d+) message_ids=(\S+)", said)
    assert handed and int(handed.group(1)) >= 1, said[-3000:]

    replicas.wait(lambda: all(leads(replicas, 1).values()), timeout=TTL / 2, what="replica 1 leading, within TTL/2")
    took_over = time.monotonic() - stopped
    done = bake_through(replicas, rid, approve_on=1)
    finished = time.monotonic() - stopped
    assert finished < VISIBILITY  # the handed-back messages were not waited for
    replicas.wait_idle(1)
    # Handed back, they were taken and deleted at once; kept, they would hide for the visibility timeout.
    left = VISIBILITY / 2 - (time.monotonic() - stopped)
    replicas.wait(lambda: queue_depth(replicas) == 0, timeout=max(left, 0.5), what="the queue empty, half a timeout on")
    assert len(replicas.bake_commits("base", rid)) == 1
    assert len(top_level(replicas, rid)) == 1 and done
    assert replicas.approval_results() == 1
    print(f"stop {stopped - asked:.1f}s, replica 1 led after {took_over:.1f}s, bake done after {finished:.1f}s")
