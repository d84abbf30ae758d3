"""The stale digest: posted once per state and channel day, even across a restart; a target not yet past
`fleet.stale_after` is not named."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest

from bot.fleet.digest import StaleDigest
from bot.slack.fleet_blocks import digest_message
from bot.state.sqlite import SqliteStore
from tests.fleet.fakes import NOW, FakeAws, ami, bake_of, config, runs
from tests.fleet.test_fleet_view import EU, view


class Posts:
    def __init__(self) -> None:
        self.posted: list[dict] = []

    def post(self, *, channel, text, blocks, thread_ts=None) -> str:
        self.posted.append({"channel": channel, "text": text, "blocks": blocks})
        return f"{len(self.posted)}.0"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


@pytest.fixture
def world(tmp_path):
    aws = FakeAws()
    old, new = ami(1, day=1), ami(2, day=20)  # new released on Nov 20: 11 days before NOW
    aws.amis[EU] = [old, new]
    aws.groups[EU] = {
        "base-canary": runs("base-canary", old.ami_id, **{old.ami_id: 2}),
        "base-us": runs("base-us", "ami-0x"),
    }
    return {"aws": aws, "path": tmp_path / "state.db", "posts": Posts(), "clock": Clock(), "new": new, "old": old}


def digest(world) -> StaleDigest:
    """A bot's digest: a new one on the same store is what a restart makes."""
    store = SqliteStore(world["path"])
    cfg = config()
    fleet = view(world["aws"], store, bakes=[bake_of(world["new"])])
    fleet._clock = world["clock"]  # the view's "days behind" moves with the digest's clock
    render = partial(digest_message, stale_after=cfg.fleet.stale_after)
    return StaleDigest(config=cfg, view=fleet, store=store, chat=world["posts"], render=render, clock=world["clock"])


def named(post: dict) -> list[str]:
    return [b["text"]["text"].split("*")[1] for b in post["blocks"][1:]]


def test_a_target_behind_longer_than_stale_after_is_posted_once_to_its_images_channel(world):
    assert digest(world).run_once() == ["C0BAKERY"]

    [post] = world["posts"].posted
    assert post["channel"] == "C0BAKERY" and named(post) == ["base-canary"]
    assert post["blocks"][1]["accessory"]["action_id"] == "rollout_start"


def test_not_again_on_the_next_run_nor_after_a_restart(world):
    digest(world).run_once()
    first = digest(world)  # a restart: a new bot on the same store
    world["clock"].now += timedelta(days=2)

    assert first.run_once() == []
    assert digest(world).run_once() == []
    assert len(world["posts"].posted) == 1


def test_posted_again_only_when_the_state_changed_and_a_day_passed(world):
    bot = digest(world)
    bot.run_once()
    newer = ami(3, day=30)
    world["aws"].amis[EU].append(newer)  # a new release: base-canary's state changed (its newest good AMI)

    assert bot.run_once() == []  # the same UTC day: the channel had its digest
    world["clock"].now += timedelta(days=1)
    assert bot.run_once() == ["C0BAKERY"]
    assert len(world["posts"].posted) == 2


def test_a_target_not_yet_past_stale_after_is_not_named(world):
    world["aws"].amis[EU] = [world["old"], ami(2, day=28)]  # the newer release is 3 days old, stale_after 7d

    assert digest(world).run_once() == []
    assert world["posts"].posted == []
