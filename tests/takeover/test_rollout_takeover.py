"""A rollout start a replica that died left half done is finished by another: one launch template version, one
instance refresh; one a live replica is starting is left alone (bot/rollouts/launch.py)."""

from __future__ import annotations

import pytest

from bot.adapters.aws.autoscaling import Fleet
from bot.rollouts.book import ROLLOUT
from bot.rollouts.record import RolloutStatus, rollout_index
from tests.fixtures.bakery import APPROVER
from tests.fixtures.waiting import wait_for
from tests.takeover.dying import Died, die_once_at, hold_once_at
from tests.test_rollouts import make_ami, make_fleet, rollout_id_of

GROUP = "base-canary"


@pytest.fixture
def replicas(bakery_factory):
    a, b = bakery_factory(backend="dynamodb"), bakery_factory(backend="dynamodb")
    ec2, autoscaling = make_fleet()
    return a, b, ec2, autoscaling


def lapse(bakery, rollout_id: str) -> None:
    """Time passes: the start claim of the rollout's dead replica runs out."""
    fn = lambda doc: {**doc, "start_claim_until": 0.0}  # noqa: E731
    bakery.services.store.mutate(ROLLOUT, rollout_id, fn, index_fn=rollout_index)


def quiet(*bakeries) -> None:
    """Until no start is queued or running: the bots' workers and answers owe nothing. (Not wait_idle: a
    rollout in progress is polled, and its message redrawn, all the time.)"""

    def idle() -> bool:
        return all(b.services.workers.pending == 0 and b.services.answers.pending() == 0 for b in bakeries)

    wait_for(idle, 15, "the workers idle")


def versions(ec2) -> list[int]:
    found = ec2.describe_launch_template_versions(LaunchTemplateName=GROUP)["LaunchTemplateVersions"]
    return sorted(v["VersionNumber"] for v in found)


def refreshes(autoscaling) -> list[str]:
    found = autoscaling.describe_instance_refreshes(AutoScalingGroupName=GROUP)["InstanceRefreshes"]
    return [r["InstanceRefreshId"] for r in found]


def start_on(bakery, ec2) -> str:
    return rollout_id_of(bakery.command(APPROVER, f"rollout {GROUP} {make_ami(ec2, 'base')}"))


def test_a_rollout_whose_replica_died_after_starting_the_refresh_adopts_it(bakery_factory, replicas, monkeypatch):
    a, b, ec2, autoscaling = replicas
    died = die_once_at(monkeypatch, "rollout.refresh.started")
    rid = start_on(a, ec2)
    wait_for(died.is_set, 15, "A to die after StartInstanceRefresh")
    quiet(a)
    bakery_factory.stop(a)
    stuck = b.services.rollouts.get(rid)
    assert stuck.status == RolloutStatus.STARTING and not stuck.refresh_id and len(refreshes(autoscaling)) == 1
    assert b.services.rollouts.recover() == []  # A's claim holds: for all B knows, A is alive
    lapse(b, rid)
    assert b.services.rollouts.recover() == [rid]
    wait_for(lambda: b.services.rollouts.get(rid).refresh_id, 15, "B to adopt the refresh")
    quiet(b)
    assert refreshes(autoscaling) == [b.services.rollouts.get(rid).refresh_id]  # adopted, not started again
    assert versions(ec2) == [1, 2]
    assert b.services.rollouts.get(rid).status == RolloutStatus.IN_PROGRESS


def test_a_rollout_whose_replica_died_after_its_template_version_makes_no_second(bakery_factory, replicas, monkeypatch):
    a, b, ec2, autoscaling = replicas
    real, died = Fleet.new_version_with_image, []

    def made_then_died(self, **kw):
        version = real(self, **kw)
        if not died:
            died.append(version)
            raise Died("after CreateLaunchTemplateVersion")
        return version

    monkeypatch.setattr(Fleet, "new_version_with_image", made_then_died)
    rid = start_on(a, ec2)
    wait_for(lambda: died, 15, "A to die after making the version")
    quiet(a)
    bakery_factory.stop(a)
    assert not b.services.rollouts.get(rid).version and versions(ec2) == [1, 2]
    lapse(b, rid)
    assert b.services.rollouts.recover() == [rid]
    wait_for(lambda: b.services.rollouts.get(rid).refresh_id, 15, "B to start the refresh")
    quiet(b)
    assert versions(ec2) == [1, 2] and b.services.rollouts.get(rid).version == 2
    assert len(refreshes(autoscaling)) == 1


def test_the_other_replicas_recovery_leaves_a_rollout_being_started_alone(replicas, monkeypatch):
    a, b, ec2, autoscaling = replicas
    reached, release = hold_once_at(monkeypatch, "rollout.refresh.started")
    rid = start_on(a, ec2)
    wait_for(reached.is_set, 15, "A in the middle of its start")
    starter = a.services.rollouts.get(rid).starter
    assert b.services.rollouts.recover() == []
    release.set()
    wait_for(lambda: a.services.rollouts.get(rid).refresh_id, 15, "A's refresh recorded")
    quiet(a, b)
    assert len(refreshes(autoscaling)) == 1 and versions(ec2) == [1, 2]
    assert a.services.rollouts.get(rid).starter == starter  # never taken over
