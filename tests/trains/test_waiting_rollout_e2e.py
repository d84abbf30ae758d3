"""In the running bot: a train's rollout of web-prod (on_release: auto) while a person's rollout holds web-prod
waits, says so in the train's message, and starts by itself, once, when that rollout is cancelled."""

from __future__ import annotations

import json

from bot.domain.causes import BAKERY_USER
from bot.trains.book import TrainBook, train_id_for
from tests.fixtures import bakery as fixture
from tests.fixtures.bakery import APPROVER, REQUESTER, SECOND_APPROVER
from tests.test_rollouts import make_ami, make_fleet, rollout_id_of, rollout_message
from tests.trains.test_train_conversation import request_id_of


def train_message(bakery, train_id: str) -> dict | None:
    return next((m for m in bakery.messages() if m["text"].startswith(f"Release train {train_id}")), None)


def test_a_trains_rollout_waits_for_a_held_target_and_starts_once_it_is_freed(bakery_factory, monkeypatch):
    auto = fixture.CONFIG.replace(
        "    launch_template: web-prod\n    approval: true\n",
        "    launch_template: web-prod\n    approval: true\n    on_release: auto\n",
    )
    assert auto != fixture.CONFIG
    monkeypatch.setattr(fixture, "CONFIG", auto)
    bakery = bakery_factory()
    ec2, _ = make_fleet()
    held = rollout_id_of(bakery.command(APPROVER, f"rollout web-prod {make_ami(ec2, 'web', 'b-earlier1')}"))

    rid = request_id_of(bakery.command(REQUESTER, "web new runtime"))
    ami = make_ami(ec2, "web", rid)
    bakery.run_pipeline("web", bakery.commit_of(rid), request_id=rid, amis=[("eu-west-1", ami)])
    train_id = train_id_for(f"parent:{rid}")
    waiting = f"waiting for *web-prod*: rollout `{held}` is waiting for approval"
    bakery.wait(
        lambda: (m := train_message(bakery, train_id)) and waiting in json.dumps(m["blocks"]),
        what="the train's message saying its rollout waits for web-prod",
    )
    assert f"`{held}`" in bakery.command(REQUESTER, f"status {train_id}")["text"]

    message = bakery.wait(lambda: rollout_message(bakery, held), what="the person's rollout's message")
    bakery.click(SECOND_APPROVER, message, "rollout_cancel")

    def trains_rollout():
        train = TrainBook(store=bakery.services.store).get(train_id)
        hop = next((h for h in train.hops if h.kind == "rollout"), None) if train else None
        return bakery.services.rollouts.get(hop.ref) if hop and hop.ref else None

    rollout = bakery.wait(trains_rollout, what="the train's rollout, started once web-prod was free")
    assert (rollout.requested_by, rollout.train_id, rollout.ami_id) == (BAKERY_USER, train_id, ami)
    assert rollout.status == "awaiting_approval"  # web-prod's approval still holds
    bakery.wait(
        lambda: (m := train_message(bakery, train_id)) and f"rollout *web-prod* `{rollout.rollout_id}`" in json.dumps(
            m["blocks"]
        ),
        what="the train's message showing the rollout",
    )
    bakery.wait_idle()
    mine = [r for r in bakery.services.rollouts.active() if r.requested_by == BAKERY_USER]
    assert [r.rollout_id for r in mine] == [rollout.rollout_id]  # opened once
