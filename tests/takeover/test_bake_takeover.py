"""A /bake half done by a replica that died is finished by another, with one commit; one still alive is left alone.

Two bots on one DynamoDB table and one repository (bot/bakes/committing.py): the bake record carries a commit
claim (holder, expiry) renewed while its commit is made, recovery takes over only a lapsed claim, and the commit
is keyed by the request id, so finishing a bake whose push landed makes no second commit.
"""

from __future__ import annotations

import pytest

from bot.bakes.record import BAKE, BakeStatus, bake_index
from bot.domain.fencing import Fence, fenced
from tests.fixtures.bakery import REQUESTER, git_log
from tests.fixtures.waiting import wait_for, wait_idle
from tests.takeover.dying import die_once_at, hold_once_at, request_id_of


@pytest.fixture
def replicas(bakery_factory):
    return bakery_factory(backend="dynamodb"), bakery_factory(backend="dynamodb")


def lapse(bakery, request_id: str) -> None:
    """Time passes: the commit claim of the bake's dead replica runs out (it renews it no more)."""
    bakery.services.store.mutate(BAKE, request_id, lambda doc: {**doc, "commit_claim_until": 0.0}, index_fn=bake_index)


def commits_of(bakery, request_id: str) -> list[str]:
    return [c["sha"] for c in git_log(bakery.repos["base"]) if f"Bakery-Request: {request_id}" in c["message"]]


def test_a_bake_whose_replica_died_after_its_push_is_finished_by_the_other_with_one_commit(
    bakery_factory, replicas, monkeypatch
):
    a, b = replicas
    died = die_once_at(monkeypatch, "bake.commit.pushed")
    rid = request_id_of(a.command(REQUESTER, "base CVE-1"))
    wait_for(died.is_set, 15, "A to die after its push")
    wait_idle(a.bot)
    bakery_factory.stop(a)  # no cleanup: its record still says 'requested', claimed by A
    assert len(commits_of(b, rid)) == 1 and b.services.bakes.get(rid).status == BakeStatus.REQUESTED
    # Meanwhile another bake of the image lands: the request file no longer holds A's request.
    other = request_id_of(b.command(REQUESTER, "base CVE-2"))
    b.commit_of(other)
    assert b.services.bakes.recover() == []  # A's claim still holds: for all B knows, A is alive
    lapse(b, rid)
    assert b.services.bakes.recover() == [rid]
    commit = b.commit_of(rid)
    wait_idle(b.bot)
    assert commits_of(b, rid) == [commit]  # found by its trailer, not committed again
    assert b.services.bakes.get(rid).status == BakeStatus.COMMITTED
    assert b.services.bakes.recover() == []  # and done with: nothing to finish twice


def test_a_bake_whose_replica_died_before_its_commit_is_committed_by_the_other(bakery_factory, replicas, monkeypatch):
    a, b = replicas
    # A dies as its worker starts on the commit: the record is made, nothing is pushed.
    monkeypatch.setattr(a.services.bakes._committer, "commit", lambda request_id: None)
    rid = request_id_of(a.command(REQUESTER, "base CVE-3"))
    wait_idle(a.bot)
    bakery_factory.stop(a)
    assert commits_of(b, rid) == []
    lapse(b, rid)
    assert b.services.bakes.recover() == [rid]
    commit = b.commit_of(rid)
    assert commits_of(b, rid) == [commit]


def test_the_other_replicas_recovery_leaves_a_bake_being_committed_alone(replicas, monkeypatch):
    a, b = replicas
    reached, release = hold_once_at(monkeypatch, "bake.commit.pushed")
    rid = request_id_of(a.command(REQUESTER, "base CVE-4"))
    wait_for(reached.is_set, 15, "A in the middle of its commit")
    claimed_by = a.services.bakes.get(rid).committer
    assert b.services.bakes.recover() == []
    release.set()
    commit = a.commit_of(rid)
    wait_idle(a.bot), wait_idle(b.bot)
    assert commits_of(a, rid) == [commit]
    assert a.services.bakes.get(rid).committer == claimed_by  # never taken over


def test_a_recovery_run_under_a_lease_it_lost_takes_nothing_over(bakery_factory, replicas, monkeypatch):
    a, b = replicas
    monkeypatch.setattr(a.services.bakes._committer, "commit", lambda request_id: None)  # A dies before committing
    rid = request_id_of(a.command(REQUESTER, "base CVE-5"))
    wait_idle(a.bot)
    bakery_factory.stop(a)
    lapse(b, rid)
    b.services.store.acquire_lease("housekeeping", "another-replica", 60)  # B no longer leads housekeeping
    with fenced(Fence("housekeeping", "replica-b", 1)):
        assert b.services.bakes.recover() == [rid]  # it tries; the commit job's first write is refused
    wait_idle(b.bot)
    assert commits_of(b, rid) == []
    assert b.services.bakes.get(rid).status == BakeStatus.REQUESTED  # left for the replica that leads now
