"""A train's rollout onto a target another rollout holds waits, and starts once the target is free: when that
rollout ends, after a restart, or at once if it ended while the wait was being written; superseded instead
when a newer release of the image exists by then. Over SQLite and DynamoDB."""

from __future__ import annotations

from dataclasses import replace

from bot.bakes.record import BAKE
from bot.domain.times import iso, utc_now
from bot.rollouts.book import LOCK, ROLLOUT
from bot.rollouts.errors import TargetBusy
from bot.rollouts.record import Rollout, RolloutStatus, rollout_index
from bot.slack.train_blocks import train_lines
from bot.state.base import StoreBase
from bot.trains.record import HopKind, Train
from bot.trains.rolling import WAIT
from tests.trains.conftest import REQUESTER, TrainBot, person_bake, train_on

OLD, NEW = "ami-0web000000000000a", "ami-0web000000000000b"
HOLDER = "r-person1"


def hold(store: StoreBase, target: str = "web-prod", rollout_id: str = HOLDER) -> None:
    """A person's rollout of `target`, running: it holds the target's lock."""
    rollout = Rollout(
        rollout_id=rollout_id,
        target=target,
        image="web",
        ami_id="ami-0old",
        region="eu-west-1",
        auto_scaling_group=target,
        requested_by=REQUESTER,
        requested_at="2026-12-01T08:00:00Z",
        channel="C0BAKERY",
        approval_needed=False,
        status=RolloutStatus.IN_PROGRESS,
    )
    store.create(ROLLOUT, rollout_id, rollout.to_doc(), index=rollout_index(rollout.to_doc()))
    lock = {"rollout_id": rollout_id, "ami_id": "ami-0old", "user": REQUESTER, "since": rollout.requested_at}
    assert store.create(LOCK, target, lock)


def end(store: StoreBase, target: str = "web-prod", rollout_id: str = HOLDER) -> None:
    """The holder's rollout succeeded and gave the target back (what RolloutBook.release does)."""
    at = iso(utc_now())
    store.mutate(ROLLOUT, rollout_id, lambda d: {**d, "status": RolloutStatus.SUCCEEDED.value, "finished_at": at})
    store.delete(LOCK, target)


def rollout_hop(t: TrainBot, train_id: str) -> object:
    train = t.trains.get(train_id)
    assert train is not None
    [hop] = [h for h in train.hops if h.kind == HopKind.ROLLOUT]
    return hop


def released_web(t: TrainBot, request_id: str, ami_id: str, at: str) -> Train:
    """A person's bake of web, released: web-prod (on_release: auto) rolls in the train it starts."""
    person_bake(t.store, request_id, image="web")
    t.store.mutate(BAKE, request_id, lambda doc: {**doc, "requested_at": at})
    t.flow.released(t.release(request_id, ami_id))
    train = t.trains.get(t.bake(request_id).train_id)
    assert train is not None
    return train


def lines(t: TrainBot, train_id: str) -> str:
    view = t.trains.view(train_id)
    assert view is not None
    return "\n".join(train_lines(view, now=iso(utc_now())))


def test_a_rollout_on_a_held_target_waits_says_so_and_starts_once_when_the_target_is_freed(store):
    t = train_on(store, app="never")
    hold(store)
    train = released_web(t, "b-web0001", OLD, "2026-12-01T09:00:00Z")

    hop = rollout_hop(t, train.train_id)
    assert (hop.ref, hop.waiting) == ("", HOLDER)
    assert f"waiting for *web-prod*: rollout `{HOLDER}` is running" in lines(t, train.train_id)
    view = t.trains.view(train.train_id)
    assert view is not None and not view.finished  # a waiting hop is not an ended one
    assert t.rollouts.opened == {}

    end(store)
    t.flow.target_free("web-prod")
    t.flow.target_free("web-prod")  # told twice (the signal and the periodic sweep): opened once

    assert list(t.rollouts.opened) == [(train.train_id, "web-prod", "b-web0001")]
    hop = rollout_hop(t, train.train_id)
    assert hop.ref == t.rollouts.opened[(train.train_id, "web-prod", "b-web0001")] and hop.waiting == ""
    assert store.find(WAIT, "web-prod") == []


def test_a_target_still_held_by_another_keeps_the_hop_waiting(store):
    t = train_on(store, app="never")
    hold(store)
    train = released_web(t, "b-web0001", OLD, "2026-12-01T09:00:00Z")

    t.flow.target_free("web-prod")  # a stale signal: the holder is still running

    assert t.rollouts.opened == {} and rollout_hop(t, train.train_id).waiting == HOLDER
    assert len(store.find(WAIT, "web-prod")) == 1


def test_a_waiting_hop_is_superseded_by_a_newer_release_of_the_image_which_rolls_instead(store):
    t = train_on(store, app="never")
    hold(store)
    older = released_web(t, "b-web0001", OLD, "2026-12-01T09:00:00Z")
    newer = released_web(t, "b-web0002", NEW, "2026-12-01T09:30:00Z")
    assert rollout_hop(t, older.train_id).waiting == rollout_hop(t, newer.train_id).waiting == HOLDER

    end(store)
    t.flow.target_free("web-prod")

    assert list(t.rollouts.opened) == [(newer.train_id, "web-prod", "b-web0002")]  # the old AMI never rolls
    superseded = rollout_hop(t, older.train_id)
    assert (superseded.ref, superseded.waiting, superseded.superseded_by) == ("", "", "b-web0002")
    assert "superseded by a newer release (`b-web0002`)" in lines(t, older.train_id)
    view = t.trains.view(older.train_id)
    assert view is not None and view.finished  # nothing more can follow in the older train
    assert store.find(WAIT, "web-prod") == []


def test_after_a_restart_a_hop_whose_target_was_freed_meanwhile_starts(store):
    t = train_on(store, app="never")
    hold(store)
    train = released_web(t, "b-web0001", OLD, "2026-12-01T09:00:00Z")
    end(store)  # while the bot was down: no signal reached it

    t.again().flow.recover()

    assert list(t.rollouts.opened) == [(train.train_id, "web-prod", "b-web0001")]
    assert rollout_hop(t, train.train_id).ref


def test_a_holder_that_ends_while_the_wait_is_written_does_not_strand_the_hop(sqlite_store):
    t = train_on(sqlite_store, app="never")
    real = t.rollouts.open_for_train
    refused: list[str] = []

    def busy_once(*, target, bake, train_id):
        if not refused:  # the lock was held when the rollout was asked for, and released right after
            refused.append(target)
            raise TargetBusy(target=target, rollout_id=HOLDER, user=REQUESTER, ami_id="ami-0old", since="now")
        return real(target=target, bake=bake, train_id=train_id)

    t.rollouts.open_for_train = busy_once  # type: ignore[method-assign]
    train = released_web(t, "b-web0001", OLD, "2026-12-01T09:00:00Z")

    assert refused == ["web-prod"] and rollout_hop(t, train.train_id).ref
    assert sqlite_store.find(WAIT, "web-prod") == []


def test_an_older_train_line_without_waiting_still_says_not_started(sqlite_store):
    t = train_on(sqlite_store, app="never")
    train = released_web(t, "b-web0001", OLD, "2026-12-01T09:00:00Z")
    t.trains.mutate(
        train.train_id,
        lambda tr: replace(tr, hops=tuple(replace(h, ref="") if h.kind == HopKind.ROLLOUT else h for h in tr.hops)),
    )

    assert ":heavy_minus_sign: rollout of *web-prod*: not started" in lines(t, train.train_id)
