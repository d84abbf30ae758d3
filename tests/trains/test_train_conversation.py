"""The release train in the channel: signed clicks on the running bot (tests/fixtures/bakery.py)."""

from __future__ import annotations

import json

from bot.bakes.record import BAKE
from bot.domain.causes import Cause, CauseKind
from bot.trains.book import TrainBook, train_id_for
from tests.fixtures import bakery as fixture
from tests.fixtures.bakery import APPROVER, OUTSIDER, REQUESTER, git_log
from tests.test_rollouts import make_ami, make_fleet, rollout_message

AMI = "ami-0b1a5e0000000001"


def request_id_of(answer: dict) -> str:
    assert "`b-" in answer["text"], answer["text"]
    return "b-" + answer["text"].split("`b-", 1)[1].split("`", 1)[0]


def rebake_card(bakery, rid: str) -> dict | None:
    return next((m for m in bakery.thread(rid) if m["text"].startswith("Rebake web")), None)


def test_a_released_base_offers_rebake_web_in_its_thread_for_bakers_only_and_once(bakery):
    rid = request_id_of(bakery.command(REQUESTER, "base CVE-1"))
    bakery.run_pipeline("base", bakery.commit_of(rid), request_id=rid, amis=[("eu-west-1", AMI)])
    card = bakery.wait(lambda: rebake_card(bakery, rid), what="the Rebake web button in the thread")
    assert f"Rebake it on `{AMI}`" in json.dumps(card["blocks"]) and "bake_children" in json.dumps(card["blocks"])

    bakery.click(OUTSIDER, card, "bake_children")
    assert "access.bakers" in bakery.wait_ephemeral(OUTSIDER, "not allowed")
    bakery.click(REQUESTER, card, "bake_children")
    done = bakery.wait(
        lambda: (m := rebake_card(bakery, rid)) and "asked to rebake" in json.dumps(m["blocks"]) and m, what="card"
    )
    assert "bake_children" not in json.dumps(done["blocks"])  # no button once pressed
    bakery.click(REQUESTER, card, "bake_children")
    assert f"already asked to rebake `web` on `{AMI}`" in bakery.wait_ephemeral(REQUESTER, "already asked")

    # The click set something moving: a train, started by the clicker, with one message and a status view.
    train_id = train_id_for(f"parent:{rid}")
    # The message is posted at once and edited as the train learns its hops: wait for the edit naming base.
    def train_message():
        for m in bakery.messages():
            if m["text"].startswith(f"Release train {train_id}") and f"`{rid}`: released" in json.dumps(m["blocks"]):
                return m
        return None

    top = bakery.wait(train_message, what="the train's message naming base's bake as released")
    shown = json.dumps(top["blocks"])
    assert f"started by <@{REQUESTER}>" in shown
    assert (
        f"base released `{AMI}` (`{rid}`)" in top["text"] and '"type": "button"' not in shown
    )  # no buttons of its own
    status = bakery.command(REQUESTER, f"status {train_id}")["text"]
    assert f"Release train `{train_id}`" in status and f"bake *base* `{rid}`: released" in status


def test_whoever_started_a_train_approves_none_of_its_bakes(bakery):
    rid = request_id_of(bakery.command(REQUESTER, "base monthly"))
    bakery.reach_approval("base", rid)
    # APPROVER pressed Rebake on a release (so started the train); this bake is one of its hops.
    cause = Cause(kind=CauseKind.PARENT, image="base", ami_id=AMI, request_id="b-parent1")
    train_id = train_id_for(cause.key)
    store = bakery.services.store
    TrainBook(store=store).ensure(
        cause=Cause(**{**cause.__dict__, "train_id": train_id}),
        root_image="base",
        channel="C0BAKERY",
        started_by=APPROVER,
    )
    store.mutate(BAKE, rid, lambda doc: {**doc, "train_id": train_id})

    bakery.click(APPROVER, bakery.approval_card(rid), "bake_approve")
    said = bakery.wait_ephemeral(APPROVER, "four-eyes")
    assert f"You started release train `{train_id}`" in said
    assert bakery.approval_card(rid) is not None


def test_a_trains_rollout_is_opened_once_by_the_bakery_and_its_starter_cannot_approve_it(bakery):
    ec2, _ = make_fleet()
    rid = request_id_of(bakery.command(REQUESTER, "web new runtime"))
    ami = make_ami(ec2, "web", rid)
    bakery.run_pipeline("web", bakery.commit_of(rid), request_id=rid, amis=[("eu-west-1", ami)])
    bake = bakery.wait(lambda: (b := bakery.services.bakes.get(rid)) and b.released and b.amis and b, what="released")
    cause = Cause(kind=CauseKind.PARENT, image="base", ami_id=AMI, request_id="b-parent1")
    train_id = train_id_for(cause.key)
    TrainBook(store=bakery.services.store).ensure(
        cause=Cause(**{**cause.__dict__, "train_id": train_id}),
        root_image="base",
        channel="C0BAKERY",
        started_by=APPROVER,
    )

    first = bakery.services.rollouts.open_for_train(target="web-prod", bake=bake, train_id=train_id)
    again = bakery.services.rollouts.open_for_train(target="web-prod", bake=bake, train_id=train_id)  # redelivery
    assert first is not None and again == first
    rollout = bakery.services.rollouts.get(first)
    assert rollout is not None and (rollout.requested_by, rollout.train_id, rollout.ami_id) == ("bakery", train_id, ami)
    assert rollout.status == "awaiting_approval"  # web-prod has approval: true, a train does not skip it

    message = bakery.wait(lambda: rollout_message(bakery, first), what="the rollout's message")
    bakery.click(APPROVER, message, "rollout_approve")
    assert f"You started release train `{train_id}`" in bakery.wait_ephemeral(APPROVER, "four-eyes")
    assert bakery.services.rollouts.get(first).status == "awaiting_approval"


def test_a_released_base_bakes_web_at_once_on_exactly_that_ami_as_the_bakerys_own_in_one_train(
    bakery_factory, monkeypatch
):
    config = fixture.CONFIG.replace("    parent: base\n", "    parent: base\n    on_parent_release: bake\n")
    monkeypatch.setattr(fixture, "CONFIG", config)
    bakery = bakery_factory()
    rid = request_id_of(bakery.command(REQUESTER, "base CVE-2"))
    bakery.run_pipeline("base", bakery.commit_of(rid), request_id=rid, amis=[("eu-west-1", AMI)])

    train_id = train_id_for(f"parent:{rid}")
    web = bakery.wait(
        lambda: next((b for b in bakery.services.bakes.status("web") if b.train_id == train_id), None),
        what="web's automatic bake",
    )
    assert (web.requested_by, web.source_ami, web.cause and web.cause.trailer) == ("bakery", AMI, f"parent:{rid}")
    sha = bakery.commit_of(web.request_id, "web")
    [commit] = [c for c in git_log(bakery_factory.repos["web"]) if c["sha"] == sha]
    assert f"Bakery-Cause: parent:{rid}" in commit["message"] and "Requested-By: bakery" in commit["message"]
    line = f"bake *web* `{web.request_id}`"
    top = bakery.wait(
        lambda: next((m for m in bakery.messages() if line in json.dumps(m["blocks"])), None),
        what="the train's message with web's line",
    )
    assert top["text"].startswith(f"Release train {train_id}")
    assert f"started by <@{REQUESTER}>" in json.dumps(top["blocks"])
