"""A replica paused past its leases (SIGSTOP) while it leads: the other takes over, work flows on, and when the
paused one wakes (SIGCONT) it writes nothing: no second message, no edit from the render it had in hand, no
AWS effect; its log says it noticed it no longer leads (CONTRACT §15, issue 14 item 1).

Leases of 3 s renewed every second (tests/replicas/serve.py; production's are 15 s and 5 s): the pause outlasts
them by seconds without the test waiting a quarter of a minute.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.replicas.harness import APPROVER, REQUESTER, Replicas
from tests.replicas.seen import FAST, LEASES, leads, top_level
from tests.replicas.test_faults import bake_through, released
from tests.replicas.test_two_replicas import approval_card, request_id_of

pytestmark = pytest.mark.xdist_group("replicas")
# What the paused replica's long poll had taken comes back to the other within seconds.
WORLD = {"visibility_timeout": 3}
SLACK_WRITES = ("chat.postMessage", "chat.update", "chat.delete", "chat.postEphemeral")
AWS_EFFECTS = ("CreateCommit", "PutApprovalResult", "StartInstanceRefresh", "CreateLaunchTemplateVersion")


def test_a_replica_paused_past_its_leases_writes_nothing_when_it_wakes(replicas: Replicas) -> None:
    slack, faults = replicas.world.slack, replicas.world.faults
    replicas.launch(0, FAST)
    replicas.wait(lambda: all(leads(replicas, 0).values()), what="replica 0 leading housekeeping and the publishers")
    replicas.launch(1, FAST)
    assert not any(leads(replicas, 1).values())
    first = request_id_of(replicas.post_command(1, REQUESTER, "base --force before the pause"))
    card = replicas.wait(lambda: approval_card(replicas, first), what="the card replica 0's publisher posted")
    # Paused with work in hand: the approval's edits and the pipeline's events are still to come.
    assert replicas.click(1, APPROVER, card, "bake_approve") == 200
    replicas.pause(0)
    paused = time.monotonic()
    replicas.wait(lambda: all(leads(replicas, 1).values()), what="replica 1 taking both leases over")
    took_over = time.monotonic() - paused
    # More work while replica 0 sleeps: the first bake released, a second one from request to release.
    released(replicas, first)
    second = request_id_of(replicas.post_command(1, REQUESTER, "base --force while replica 0 sleeps"))
    bake_through(replicas, second, approve_on=1)
    replicas.wait_idle(1)
    slack_seen, aws_seen = len(slack.calls()), len(faults.calls())

    replicas.resume(0)
    for name in LEASES:  # the lease's renewal found it lost (lease.lost), or the loop did first (<loop>.lease_lost)
        noticed = re.compile(rf"\blease[._]lost\b.* lease={name}\b")
        replicas.wait(lambda n=noticed: n.search(replicas.logs(0)), what=f"replica 0 seeing {name} lost")
    assert not any(leads(replicas, 0).values())
    replicas.wait_idle(0)
    replicas.wait_idle(1)

    woke_writes = [f"{c.method} {c.args.get('text', '')[:60]}" for c in slack.calls()[slack_seen:]]
    assert [w for w in woke_writes if w.split()[0] in SLACK_WRITES] == []
    effects = [f"{s.service}.{s.operation}" for s in faults.calls()[aws_seen:] if s.operation in AWS_EFFECTS]
    assert effects == []
    for rid in (first, second):
        assert len(top_level(replicas, rid)) == 1
        assert len(replicas.bake_commits("base", rid)) == 1
    assert replicas.approval_results() == 2
    print(f"replica 1 led {took_over:.1f}s after replica 0 was paused")


def test_a_leader_paused_while_it_waits_out_a_429_does_not_send_that_edit_when_it_wakes(replicas: Replicas) -> None:
    """Paused with a render in hand: its edit met Slack's 429 and waits out the Retry-After when it is stopped."""
    slack = replicas.world.slack
    replicas.launch(0, FAST)
    replicas.wait(lambda: all(leads(replicas, 0).values()), what="replica 0 leading housekeeping and the publishers")
    replicas.launch(1, FAST)
    rid = request_id_of(replicas.post_command(1, REQUESTER, "base --force its edit waiting out a 429"))
    card = replicas.wait(lambda: approval_card(replicas, rid), what="the card replica 0's publisher posted")
    replicas.wait_idle(0)
    limited = len([c for c in slack.calls("chat.update") if c.status == 429])
    slack.rate_limit("chat.update", times=1, retry_after=2)
    assert replicas.click(1, APPROVER, card, "bake_approve") == 200
    replicas.wait(
        lambda: len([c for c in slack.calls("chat.update") if c.status == 429]) > limited, what="replica 0's edit 429"
    )
    replicas.pause(0)  # within the Retry-After: replica 0's edit is still to be sent
    replicas.wait(lambda: all(leads(replicas, 1).values()), what="replica 1 taking both leases over")
    released(replicas, rid)
    replicas.wait_idle(1)
    seen, final = len(slack.calls()), [m["text"] for m in top_level(replicas, rid)]

    replicas.resume(0)
    noticed = re.compile(r"\blease[._]lost\b.* lease=publisher\b")
    replicas.wait(lambda: noticed.search(replicas.logs(0)), what="replica 0 seeing the publisher lease lost")
    replicas.wait_idle(0)
    assert [m["text"] for m in top_level(replicas, rid)] == final  # the release, not the render replica 0 held
    woke_writes = [f"{c.method} {c.args.get('text', '')[:60]}" for c in slack.calls()[seen:]]
    assert [w for w in woke_writes if w.split()[0] in SLACK_WRITES] == []
