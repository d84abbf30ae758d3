"""**Rebake <child>** (`bake_children`): offered on a release whose child asks; a baker's click bakes it once."""

from __future__ import annotations

import pytest

from bot.domain.errors import BadRequest, NotAllowed, NotFound
from bot.trains.rebake import rebake_key
from tests.trains.conftest import BAKER, OUTSIDER, REQUESTER, person_bake, train_on

AMI = "ami-0base000000000001"


@pytest.fixture
def offered(sqlite_store):
    """base released by a person; web asks (and moves nothing else), so no train yet."""
    t = train_on(sqlite_store, web="ask", web_prod="ask")
    person_bake(sqlite_store)
    t.flow.released(t.release("b-base01", AMI))
    return t


def test_a_release_whose_child_asks_offers_the_button_and_opens_nothing_by_itself(offered):
    [offer] = offered.offers.of_bake(offered.bake("b-base01"))
    assert (offer.child, offer.ami_id, offer.key) == ("web", AMI, rebake_key("b-base01", "web"))
    assert offered.auto.calls == []
    assert "b-base01" in offered.dirty  # its message redraws, with the button
    assert offered.bake("b-base01").train_id == ""


def test_a_bakers_click_bakes_the_child_on_exactly_the_released_ami_in_a_train_the_clicker_started(offered):
    answer = offered.rebakes.rebake(user=BAKER, key=rebake_key("b-base01", "web"))
    assert (answer.child, answer.ami_id, answer.request_id) == ("web", AMI, "b-web01")
    [(child, source_ami, cause)] = offered.auto.calls
    assert (child, source_ami, cause.request_id) == ("web", AMI, "b-base01")
    train = offered.trains.get(answer.train_id)
    assert train is not None and train.started_by == BAKER
    assert [h.ref for h in train.hops] == ["b-base01", "b-web01"]


def test_a_click_by_someone_not_in_bakers_changes_nothing(offered):
    with pytest.raises(NotAllowed, match="access.bakers"):
        offered.rebakes.rebake(user=OUTSIDER, key=rebake_key("b-base01", "web"))
    assert offered.auto.calls == []
    assert offered.offers.of_bake(offered.bake("b-base01"))[0].clicked_by == ""


def test_a_second_click_is_told_who_already_asked_and_opens_nothing(offered):
    key = rebake_key("b-base01", "web")
    offered.rebakes.rebake(user=BAKER, key=key)
    with pytest.raises(BadRequest, match=f"<@{BAKER}> already asked to rebake `web` on `{AMI}`: bake `b-web01`"):
        offered.rebakes.rebake(user=REQUESTER, key=key)
    assert len(offered.auto.calls) == 1


def test_a_click_after_the_child_was_already_baked_on_that_ami_opens_nothing(offered):
    person_bake(offered.store, request_id="b-webhand", image="web", source_ami=AMI)
    with pytest.raises(BadRequest, match=f"`web` is already baked on `{AMI}`: bake `b-webhand`"):
        offered.rebakes.rebake(user=BAKER, key=rebake_key("b-base01", "web"))
    assert offered.auto.calls == []


def test_a_button_this_bot_never_offered_is_refused(offered):
    with pytest.raises(NotFound):
        offered.rebakes.rebake(user=BAKER, key="bc-nosuchkey000")
