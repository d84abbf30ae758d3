"""SIGKILL at each failpoint (bot/runtime/failpoints.py): replica 0 dies in the middle of the work, replica 1
finishes it, and each effect happened once, as users see it (CONTRACT §15): one commit for the request, one
top-level message for the bake and for the rollout, one put_approval_result, one StartInstanceRefresh and one
launch template version.

Both replicas run with the clocks of §15 shortened (tests/replicas/serve.py): a 3 s lease renewed every second,
recovery every second, claims of 4 s. Production's (15 s, 60 s, 60-120 s) change how long the living replica
waits before it takes a dead one's work over, not what it does then. Replica 0 starts first and leads every
lease: replica 1's recovery cannot take a start over before replica 0 claims it (a rollout is recorded
'starting' before its start is claimed), and the dead replica's leases must lapse before replica 1 leads.
"""

from __future__ import annotations

import re
import signal
from typing import Any

import pytest

from tests.replicas.harness import APPROVER, REQUESTER, Replicas
from tests.replicas.seen import FAST, start_led_by, top_level
from tests.replicas.test_faults import bake_through, thread_of
from tests.replicas.test_two_replicas import approval_card, request_id_of, text_of

pytestmark = pytest.mark.xdist_group("replicas")
# A message the dead replica had received comes back within seconds, not after the default 30.
WORLD = {"visibility_timeout": 3}


def armed(point: str) -> dict[int, dict[str, str]]:
    return {0: {**FAST, "BAKERY_FAILPOINTS": point}, 1: FAST}


KILLED = -signal.SIGKILL


def died_at(replicas: Replicas, i: int, point: str) -> None:
    assert replicas.wait_exit(i) == KILLED, replicas.logs(i)[-3000:]
    assert f"failpoint.kill point={point}" in replicas.logs(i)


def click_the_dying(replicas: Replicas, i: int, message: dict[str, Any], action_id: str) -> None:
    """A click to the replica that dies handling it: acknowledged first, though the kill may beat the reply."""
    try:
        replicas.click(i, APPROVER, message, action_id)
    except (OSError, AssertionError) as exc:  # the connection cut by the SIGKILL, or the reply lost with it
        if replicas.process(i).poll() is None:
            raise
        print(f"the click's reply was lost with replica {i}: {exc!r}")


def assert_bake_once(replicas: Replicas, rid: str, done: dict[str, Any]) -> None:
    assert len(replicas.bake_commits("base", rid)) == 1
    assert len(top_level(replicas, rid)) == 1, top_level(replicas, rid)
    assert replicas.approval_results() == 1
    notices = [m["text"] for m in thread_of(replicas, done)]
    assert len(notices) == len(set(notices)), notices  # each thread notice once
    cards = [m for m in thread_of(replicas, done) if m["text"].startswith("Approval of bake")]
    assert len(cards) == 1, cards


def test_killed_after_its_push_the_other_replica_records_the_commit_and_the_bake_flows_once(
    replicas: Replicas,
) -> None:
    start_led_by(replicas, armed("bake.commit.pushed"))
    rid = request_id_of(replicas.post_command(0, REQUESTER, "base --force killed after its push"))
    died_at(replicas, 0, "bake.commit.pushed")
    done = bake_through(replicas, rid, approve_on=1)
    assert_bake_once(replicas, rid, done)


def test_killed_between_the_claim_and_put_approval_result_the_other_replica_sends_it_once(
    replicas: Replicas,
) -> None:
    start_led_by(replicas, armed("approval.claimed"))
    rid = request_id_of(replicas.post_command(0, REQUESTER, "base --force killed as its approval is sent"))
    card = replicas.wait(lambda: approval_card(replicas, rid), what=f"bake {rid}'s approval card")
    click_the_dying(replicas, 0, card, "bake_approve")
    died_at(replicas, 0, "approval.claimed")
    done = replicas.wait(
        lambda: (m := top_level(replicas, rid)) and "*Publish* succeeded" in text_of(m[0]) and m[0],
        what=f"bake {rid} approved by replica 1's recovery and released",
    )
    assert_bake_once(replicas, rid, done)


def rollout_messages(replicas: Replicas, rid: str) -> list[dict[str, Any]]:
    """The bake's rollouts' own messages (in the bake's thread: each rollout's one message, edited as it goes)."""
    top = top_level(replicas, rid)
    thread = thread_of(replicas, top[0]) if top else []
    return [m for m in thread if re.match(r"Rollout r-[0-9a-z]+ of ", m["text"])]


def roll_out_killed_mid_start(replicas: Replicas, refresh_seconds: float) -> str:
    """A bake released, its Roll out pressed on replica 0, which dies after StartInstanceRefresh; the rollout's
    message once replica 1 has finished the start. Auto Scaling's refreshes last `refresh_seconds` meanwhile."""
    autoscaling = replicas.world.sandbox.autoscaling
    usual, autoscaling.duration = autoscaling.duration, refresh_seconds
    try:
        start_led_by(replicas, armed("rollout.refresh.started"))
        rid = request_id_of(replicas.post_command(1, REQUESTER, "base --force then rolled out, killed mid-start"))
        bake_through(replicas, rid, approve_on=1)
        button = replicas.wait(
            lambda: (m := top_level(replicas, rid)) and "rollout_start" in text_of(m[0]) and m[0], what="Roll out"
        )
        click_the_dying(replicas, 0, button, "rollout_start")
        died_at(replicas, 0, "rollout.refresh.started")
        replicas.wait(
            lambda: (m := rollout_messages(replicas, rid)) and "refresh `" in text_of(m[0]),
            what="the rollout's message showing the refresh, its start finished by replica 1",
        )
        replicas.wait(lambda: "rollout.started " in replicas.logs(1), what="replica 1 finishing the start")
        replicas.wait_idle(1)
        return rid
    finally:
        autoscaling.duration = usual


def assert_started_once(replicas: Replicas, rid: str) -> None:
    shown = rollout_messages(replicas, rid)
    assert len(shown) == 1, [m["text"] for m in shown]
    assert len(replicas.world.faults.calls("ec2", "CreateLaunchTemplateVersion", ok=True)) == 1
    assert replicas.refreshes_started() == 1


@pytest.mark.xfail(
    strict=False,
    reason=(
        "flaky, under investigation (#14): in 2 of 4 runs on 2026-12-02 the rollout_start click was refused "
        "'I do not know this button' (the button's offer record missing when the click came), so no rollout "
        "started and replica 0 never reached its failpoint"
    ),
)
def test_killed_after_start_instance_refresh_the_other_replica_adopts_the_running_refresh(
    replicas: Replicas,
) -> None:
    """As in production: the refresh (minutes of instance warm-up) still runs when the claim lapses."""
    assert_started_once(replicas, roll_out_killed_mid_start(replicas, refresh_seconds=120.0))
    assert "rollout.refresh_adopted" in replicas.logs(1)


@pytest.mark.xfail(
    strict=False,
    reason=(
        "flaky, under investigation (#14): in 2 of 4 runs on 2026-12-02 the rollout_start click was refused "
        "'I do not know this button' (the button's offer record missing when the click came), so no rollout "
        "started and replica 0 never reached its failpoint"
    ),
)
def test_killed_after_start_instance_refresh_a_refresh_finished_meanwhile_is_not_started_again(
    replicas: Replicas,
) -> None:
    # The dead replica's refresh is over before its 4 s start claim lapses.
    assert_started_once(replicas, roll_out_killed_mid_start(replicas, refresh_seconds=0.5))


def test_killed_after_posting_before_saving_the_ts_the_other_publisher_adopts_the_message(
    replicas: Replicas,
) -> None:
    start_led_by(replicas, armed("publish.posted"))
    rid = request_id_of(replicas.post_command(1, REQUESTER, "base --force its first post's ts lost"))
    died_at(replicas, 0, "publish.posted")
    # The post it died after is usually this bake's, but may be another record's that the module's earlier tests
    # left active (a rollout redrawn as replica 0 took the lease): either way replica 1 adopts it, posts nothing twice.
    replicas.wait(lambda: top_level(replicas, rid), what=f"bake {rid}'s message")
    done = bake_through(replicas, rid, approve_on=1)
    assert_bake_once(replicas, rid, done)
    assert "publish.adopted" in replicas.logs(1)  # found by its metadata, not posted again
