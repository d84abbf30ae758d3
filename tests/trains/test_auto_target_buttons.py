"""A target with `on_release: auto` is the train's to roll (§12): a released bake offers no Roll out button for it
until a rollout of it exists, so nobody is offered, between the release and the train's rollout, a second one."""

from __future__ import annotations

from bot.bakes.record import BakeStatus
from bot.domain.models import Ami
from bot.rollouts.buttons import RolloutButtons, rollout_start_key
from tests.trains.conftest import make_config, person_bake

AMI = (Ami(region="eu-west-1", ami_id="ami-0a1b2c3d4e5f60718"),)


def test_a_released_bake_offers_no_button_for_an_auto_target_until_the_trains_rollout_exists(sqlite_store):
    buttons = RolloutButtons(config=make_config(web_prod="auto"), store=sqlite_store)
    bake = person_bake(sqlite_store, "b-web001", "web", status=BakeStatus.SUCCEEDED, amis=AMI)
    assert bake.released
    assert buttons.targets_of(bake) == ()
    # Once the train's rollout exists, its line and (should it end without the AMI) its button come back.
    assert buttons.targets_of(bake, rolled={"web-prod"}) == (("web-prod", rollout_start_key("b-web001", "web-prod")),)


def test_an_ask_target_and_an_unreleased_bake_keep_their_button(sqlite_store):
    offered = (("web-prod", rollout_start_key("b-web002", "web-prod")),)
    asked = RolloutButtons(config=make_config(web_prod="ask"), store=sqlite_store)
    released = person_bake(sqlite_store, "b-web002", "web", status=BakeStatus.SUCCEEDED, amis=AMI)
    assert asked.targets_of(released) == offered
    auto = RolloutButtons(config=make_config(web_prod="auto"), store=sqlite_store)
    running = person_bake(sqlite_store, "b-web003", "web", amis=AMI)
    assert not running.released
    assert auto.targets_of(running) == (("web-prod", rollout_start_key("b-web003", "web-prod")),)


def test_the_button_record_of_an_auto_target_is_still_written_so_a_later_click_is_understood(sqlite_store):
    buttons = RolloutButtons(config=make_config(web_prod="auto"), store=sqlite_store)
    bake = person_bake(sqlite_store, "b-web004", "web", status=BakeStatus.SUCCEEDED, amis=AMI)
    buttons.offer(bake)
    assert buttons.lookup(rollout_start_key("b-web004", "web-prod")) == ("b-web004", "web-prod")
