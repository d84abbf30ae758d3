"""Exactly once and safe under races (issue 13 item 5): one daily sweep however many replicas, on SQLite and
DynamoDB; the per-image lock that rollouts and sweeps share."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from bot.access.service import Access
from bot.config import Config, parse_config
from bot.lifecycle.gc import GcService
from bot.lifecycle.locks import AmiDeregistered, ImageBusy, ImageLocks
from bot.state.dynamodb import DynamoStore, ensure_table
from bot.state.sqlite import SqliteStore
from tests.fixtures.aws import REGION, new_session
from tests.lifecycle.fakes import World
from tests.lifecycle.helpers import CONFIG, NOW, Setup, days

TABLE = "ami-bakery-state-sweep"


@pytest.fixture(params=["sqlite", "dynamodb"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path):
    """Another store object on the same data at each call, as another replica would open."""
    if request.param == "sqlite":
        return lambda: SqliteStore(tmp_path / "state.db")
    request.getfixturevalue("moto")
    client = new_session(REGION).client("dynamodb")
    ensure_table(client, TABLE)
    return lambda: DynamoStore(client, TABLE)


def replica(world: World, store, posted: list, cfg: Config | None = None) -> GcService:
    s = Setup(world, store=store, cfg=cfg)
    return GcService(
        config=s.config,
        store=store,
        access=Access(s.config.access, chat=None),  # type: ignore[arg-type]  # no user groups asked
        sweep=s.sweep,
        post_report=posted.append,
        clock=lambda: NOW,
    )


def test_two_replicas_sweeping_at_once_give_one_sweep(open_store):
    w = World()
    amis = [w.ami("base", days(10 * (5 - i)), released=True) for i in range(5)]
    posted: list = []
    replicas = [replica(w, open_store(), posted) for _ in range(2)]
    start = threading.Barrier(2)

    def daily(gc: GcService):
        start.wait()
        return gc.daily()

    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(daily, replicas))

    ran = [r for r in reports if r is not None]
    assert len(ran) == 1 and len(posted) == 1
    assert sorted(p.ami_id for p in ran[0].removed) == sorted(a.ami_id for a in amis[:3])
    assert w.calls["deregister"] == 3


def test_a_restart_the_same_day_does_not_sweep_again(open_store):
    w = World()
    [w.ami("base", days(10 * (4 - i)), released=True) for i in range(4)]
    posted: list = []

    assert replica(w, open_store(), posted).daily() is not None
    assert replica(w, open_store(), posted).daily() is None
    assert len(posted) == 1


def test_images_with_sweep_off_are_not_swept_daily():
    w = World()
    old = [w.ami("base", days(10 * (4 - i)), released=True) for i in range(4)]
    posted: list = []
    off = parse_config(CONFIG.replace("deprecate_after_days: 30}", "deprecate_after_days: 30, sweep: 'off'}"))
    gc = replica(w, SqliteStore(":memory:"), posted, cfg=off)

    assert gc.daily() is None
    assert all(a.ami_id in w.at().amis for a in old) and posted == []


def test_a_rollout_waits_out_a_sweeps_hold_and_then_takes_the_lock():
    store = SqliteStore(":memory:")
    now = [NOW]
    sweep_locks = ImageLocks(store, clock=lambda: now[0], sleep=lambda s: None, hold_seconds=60)
    waited: list[float] = []

    def sleep(seconds: float) -> None:  # the rollout's wait: time passes until the sweep's hold expires
        waited.append(seconds)
        now[0] += timedelta(seconds=5)

    rollout_locks = ImageLocks(store, clock=lambda: now[0], sleep=sleep, hold_seconds=60)
    with sweep_locks.held("base", "sweep:ami-1", wait=0):
        # The sweep holds it (and, in this test, never lets go): the rollout waits, then takes over at expiry.
        with rollout_locks.for_rollout("base", "rollout:r-1"):
            assert rollout_locks.holder("base") == "rollout:r-1"
            assert len(waited) == 12
    assert rollout_locks.holder("base") is None


def test_a_sweep_does_not_wait_long_for_an_image_a_rollout_holds():
    store = SqliteStore(":memory:")
    locks = ImageLocks(store, clock=lambda: NOW, sleep=lambda s: None)

    with locks.held("base", "rollout:r-1", wait=0):
        with pytest.raises(ImageBusy), locks.held("base", "sweep:ami-1", wait=0):
            pass
        with locks.held("web", "sweep:ami-2", wait=0):  # another image is free
            assert locks.holder("web") == "sweep:ami-2"
    assert locks.holder("base") is None


def test_a_rollout_that_checked_its_ami_before_the_sweep_deregistered_it_is_refused_with_why():
    store = SqliteStore(":memory:")
    locks = ImageLocks(store, clock=lambda: NOW, sleep=lambda s: None)
    with locks.held("base", "sweep:ami-1", wait=0):
        locks.mark_deregistered("ami-1")

    with pytest.raises(
        AmiDeregistered, match="`ami-1` was deregistered by the lifecycle sweep at 2026-12-01T12:00:00Z"
    ):
        with locks.for_rollout("base", "rollout:r-1", "ami-1"):
            pass
    with locks.for_rollout("base", "rollout:r-2", "ami-2"):  # another AMI of the image: fine
        assert locks.holder("base") == "rollout:r-2"
    assert locks.holder("base") is None
