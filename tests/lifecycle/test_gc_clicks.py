"""`gc_confirm` clicks Slack may send that the bot never offered, or offered long ago (§6: a button's value is an
opaque key): a forged key, another button's key, a key of no shape the bot issues, an offer gone stale; each is
answered privately and clearly, and removes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.domain.times import iso, parse_time
from bot.lifecycle.gc import OFFER
from tests.fixtures.aws import new_session
from tests.fixtures.bakery import APPROVER
from tests.lifecycle.test_gc_slack import LIFECYCLE, as_message, existing, unreleased


@pytest.fixture
def gc_bakery(bakery_factory):
    return bakery_factory(text=lambda written: written + LIFECYCLE)


@pytest.fixture
def offered(gc_bakery):
    """An unreleased AMI the sweep would remove, and the approver's /bake gc answer offering to."""
    ec2 = new_session().client("ec2")
    free = unreleased(ec2, "f")
    answer = gc_bakery.command(APPROVER, "gc")
    assert "gc_confirm" in json.dumps(answer)
    return ec2, free, answer


def _key(answer: dict) -> str:
    return next(
        e["value"] for b in answer["blocks"] for e in b.get("elements", []) if e.get("action_id") == "gc_confirm"
    )


def with_value(answer: dict, value: str) -> dict:
    """The offer's message with its button's value replaced, as a forged or mistaken payload would carry."""
    return json.loads(json.dumps(as_message(answer)).replace(f'"{_key(answer)}"', json.dumps(value)))


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("gc-000000000000", "I do not know this sweep offer (it may belong to another bot). Ask `/bake gc` again."),
        ("rs-0123456789ab", "I do not know this sweep offer"),  # a Roll out button's key, under gc_confirm
        ("$(reboot) gc-1", "no key I issued"),
    ],
)
def test_a_key_the_bot_never_offered_is_refused_and_removes_nothing(gc_bakery, offered, value, said):
    ec2, free, answer = offered

    gc_bakery.click(APPROVER, with_value(answer, value), "gc_confirm")

    assert said in gc_bakery.wait_ephemeral(APPROVER, said)
    gc_bakery.wait_idle()
    assert existing(ec2, [free]) == {free}
    assert not [m for m in gc_bakery.messages() if "Lifecycle sweep*" in m["text"] and not m.get("ephemeral_to")]


def test_an_offer_older_than_an_hour_is_refused_and_the_same_offer_is_not_spent(gc_bakery, offered):
    ec2, free, answer = offered
    store = gc_bakery.services.store
    key = _key(answer)
    record = store.get(OFFER, key)
    old = iso(parse_time(record.doc["at"]) - timedelta(hours=2))
    assert store.replace(OFFER, key, {**record.doc, "at": old}, expected_version=record.version)

    gc_bakery.click(APPROVER, as_message(answer), "gc_confirm")

    gc_bakery.wait_ephemeral(APPROVER, "This sweep offer is too old; `/bake gc` shows what a sweep would do now.")
    assert existing(ec2, [free]) == {free}
    assert store.get(OFFER, key).doc["used_by"] == ""
