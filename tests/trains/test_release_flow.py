"""What a release sets moving: children rebaked on exactly the released AMI, targets rolled, one train, once."""

from __future__ import annotations

from bot.bakes.record import BAKE, BakeStatus, StepState
from bot.domain.causes import BAKERY_USER, Cause, CauseKind
from bot.domain.models import Ami
from bot.trains.book import train_id_for
from bot.trains.flow import RELEASE
from bot.trains.rebake import rebake_key
from bot.trains.record import HopKind
from tests.trains.conftest import REGION, REQUESTER, person_bake, train_on

AMI = "ami-0base000000000001"
FAILED = StepState(state="Failed", updated="2026-12-01T10:20:00Z")


def test_a_released_base_bakes_its_child_on_exactly_that_ami_in_a_train_started_by_its_requester(store):
    t = train_on(store, web_prod="ask")
    person_bake(store)
    t.flow.released(t.release("b-base01", AMI))

    [(child, source_ami, cause)] = t.auto.calls
    assert (child, source_ami) == ("web", AMI)
    assert (cause.kind, cause.request_id, cause.ami_id, cause.trailer) == (
        CauseKind.PARENT,
        "b-base01",
        AMI,
        "parent:b-base01",
    )
    train = t.trains.get(cause.train_id)
    assert train is not None and train.started_by == REQUESTER and train.root_image == "base"
    assert [(h.kind, h.subject, h.ref) for h in train.hops] == [
        (HopKind.BAKE, "base", "b-base01"),
        (HopKind.BAKE, "web", "b-web01"),
    ]
    assert t.bake("b-base01").train_id == t.bake("b-web01").train_id == train.train_id


def test_grandchildren_follow_in_turn_and_join_the_same_train(sqlite_store):
    t = train_on(sqlite_store, web_prod="ask")
    person_bake(sqlite_store)
    t.flow.released(t.release("b-base01", AMI))
    t.flow.released(t.release("b-web01", "ami-0web0000000000002"))

    assert [(c[0], c[1]) for c in t.auto.calls] == [("web", AMI), ("app", "ami-0web0000000000002")]
    train = t.trains.get(t.bake("b-base01").train_id)
    assert train is not None
    assert [h.subject for h in train.hops if h.kind == HopKind.BAKE] == ["base", "web", "app"]
    assert t.bake("b-app02").train_id == train.train_id


def test_a_release_delivered_twice_or_followed_again_after_a_restart_opens_each_hop_once(store):
    t = train_on(store)
    person_bake(store)
    released = t.release("b-base01", AMI)
    t.flow.released(released)
    t.flow.released(released)
    store.delete(RELEASE, "b-base01")  # as if the bot died before it marked the release followed
    t.again().flow.released(released)

    train = t.trains.get(t.bake("b-base01").train_id)
    assert train is not None
    assert sorted(h.key for h in train.hops) == sorted(set(h.key for h in train.hops))
    assert [h.ref for h in train.hops if h.kind == HopKind.BAKE] == ["b-base01", "b-web01"]
    assert len({c[2].key for c in t.auto.calls}) == 1  # the door was asked again, and opened nothing twice


def test_a_bake_rejected_at_approve_sets_nothing_moving_though_its_ami_exists(sqlite_store):
    t = train_on(sqlite_store)
    ami = Ami(region=REGION, ami_id=AMI)
    person_bake(sqlite_store, status=BakeStatus.FAILED, amis=(ami,), stages={"Approve": FAILED})
    t.flow.released(t.bake("b-base01"))
    assert t.auto.calls == [] and t.rollouts.opened == {}
    assert sqlite_store.get(RELEASE, "b-base01") is None


def test_a_persons_release_that_moves_nothing_opens_no_train(sqlite_store):
    t = train_on(sqlite_store, web="never", web_prod="ask")
    person_bake(sqlite_store)
    t.flow.released(t.release("b-base01", AMI))
    assert t.auto.calls == []
    assert t.offers.lookup(rebake_key("b-base01", "web")) is None  # never: not even a button
    assert t.bake("b-base01").train_id == ""
    assert t.trains.get(train_id_for("parent:b-base01")) is None


def test_a_target_on_release_auto_is_rolled_once_as_a_hop_of_the_train(store):
    t = train_on(store, web="never")
    person_bake(store, request_id="b-web001", image="web", source_ami=AMI)
    released = t.release("b-web001", "ami-0web0000000000001")
    t.flow.released(released)
    store.delete(RELEASE, "b-web001")
    t.again().flow.released(released)

    assert list(t.rollouts.opened) == [(t.bake("b-web001").train_id, "web-prod", "b-web001")]
    train = t.trains.get(t.bake("b-web001").train_id)
    assert train is not None
    [hop] = [h for h in train.hops if h.kind == HopKind.ROLLOUT]
    assert (hop.subject, hop.ref, hop.parent_ref) == ("web-prod", "r-000001", "b-web001")


def test_an_automatic_root_excludes_nobody_and_its_train_is_derived_from_the_cause(sqlite_store):
    t = train_on(sqlite_store, web="never", web_prod="ask")
    door = t.door  # the train's door, as the upstream watch uses it
    cause = Cause(kind=CauseKind.UPSTREAM, image="base", ami_id=AMI, parameter="/aws/al2023")
    request_id = door.open_automatic("base", source_ami=AMI, cause=cause)
    assert door.open_automatic("base", source_ami=AMI, cause=cause) is None  # a topic message racing a check

    train = t.trains.get(train_id_for(cause.key))
    assert train is not None and train.started_by == BAKERY_USER
    assert t.trains.starter(train.train_id) == ""
    assert [h.ref for h in train.hops] == [request_id]
    assert t.bake(str(request_id)).source_ami == AMI


def test_after_a_restart_recovery_follows_a_release_the_last_run_did_not(sqlite_store):
    t = train_on(sqlite_store, web_prod="ask")
    person_bake(sqlite_store)
    t.flow.released(t.release("b-base01", AMI))
    t.release("b-web01", "ami-0web0000000000002")  # released, and the bot died before it followed it

    t.again().flow.recover()
    assert [(c[0], c[1]) for c in t.auto.calls] == [("web", AMI), ("app", "ami-0web0000000000002")]


def test_a_train_is_finished_once_every_hop_ended_and_every_release_was_followed(sqlite_store):
    t = train_on(sqlite_store, web="never", web_prod="ask")  # web -> app bakes
    person_bake(sqlite_store, request_id="b-web001", image="web", source_ami=AMI)
    t.flow.released(t.release("b-web001", "ami-0web0000000000001"))
    train_id = t.bake("b-web001").train_id
    t.trains.finish_if_done(t.trains.get(train_id))
    assert t.trains.get(train_id).finished_at == ""  # app's bake is in flight

    sqlite_store.mutate(BAKE, "b-app01", lambda d: {**d, "status": "failed"})
    t.trains.finish_if_done(t.trains.get(train_id))
    assert t.trains.get(train_id).finished_at != ""
