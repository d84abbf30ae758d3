"""The release train over a real state store (SQLite and DynamoDB on moto), with a fake AutoBakes that keeps
the contract (once per (image, cause.key), a bake record written) until the bake service's own lands."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from bot.access.service import Access
from bot.bakes.images import record_latest
from bot.bakes.record import BAKE, Bake, BakeStatus, StepState, bake_index
from bot.config import AccessConfig, Config, ImageConfig, NotificationsConfig, StateConfig, TargetConfig
from bot.domain.causes import BAKERY_USER, Cause
from bot.domain.models import Ami
from bot.rollouts.book import LOCK, ROLLOUT
from bot.rollouts.errors import TargetBusy
from bot.rollouts.record import Rollout
from bot.state.base import StoreBase
from bot.state.dynamodb import DynamoStore, ensure_table
from bot.state.sqlite import SqliteStore
from bot.trains.book import TrainBook
from bot.trains.flow import ReleaseFlow, TrainAutoBakes
from bot.trains.rebake import RebakeOffers, Rebakes
from tests.fixtures.aws import new_session

REGION = "eu-west-1"
TABLE = "ami-bakery-trains-test"
REQUESTER, BAKER, OUTSIDER = "U0CAROL", "U0DAVE", "U0MALLORY"


def image(name: str, parent: str | None = None, on_parent_release: str = "ask") -> ImageConfig:
    return ImageConfig(
        name=name,
        repository=f"/repos/{name}",
        branch="main",
        pipeline=f"ami-bakery-{name}",
        channel="C0BAKERY",
        region=REGION,
        parent=parent,
        on_parent_release=on_parent_release,
    )


def make_config(*, web: str = "bake", app: str = "bake", web_prod: str = "auto") -> Config:
    return Config(
        channel="C0BAKERY",
        access=AccessConfig(bakers=(REQUESTER, BAKER), approvers=("U0ALICE",), deployers=("U0ALICE",)),
        state=StateConfig(),
        notifications=NotificationsConfig(),
        images={
            "base": image("base"),
            "web": image("web", "base", web),
            "app": image("app", "web", app),
        },
        targets={
            "web-prod": TargetConfig(
                name="web-prod",
                image="web",
                auto_scaling_group="web-prod",
                launch_template="web-prod",
                on_release=web_prod,
            )
        },
    )


class NoChat:
    def user_group_members(self, group: str) -> list[str]:  # pragma: no cover - no groups in these configs
        return []


class FakeAutoBakes:
    """Opens a bake record per (image, cause.key), once, as the real door does; remembers the calls."""

    def __init__(self, store: StoreBase):
        self.store = store
        self.calls: list[tuple[str, str, Cause]] = []

    def open_automatic(self, image: str, *, source_ami: str, cause: Cause) -> str | None:
        self.calls.append((image, source_ami, cause))
        request_id = f"b-{image}{len(self.calls):02d}"
        if not self.store.create("fake-auto", f"{image}|{cause.key}", {"request_id": request_id}):
            return None
        bake = Bake(
            request_id=request_id,
            image=image,
            requested_by=BAKERY_USER,
            requested_at="2026-12-01T10:00:00Z",
            reason="",
            channel="C0BAKERY",
            pipeline=f"ami-bakery-{image}",
            source_ami=source_ami,
            cause=cause,  # the train's door records the bake's train itself, whatever the door behind it does
        )
        self.store.create(BAKE, request_id, bake.to_doc(), index=bake_index(bake.to_doc()))
        return request_id


class FakeRollouts:
    """Opens a train's rollout once per (train, target, bake), as the real one claims it; refuses, as the
    real one does, while the store's lock on the target is held by a rollout that has not ended."""

    def __init__(self, store: StoreBase | None = None) -> None:
        self.store = store
        self.opened: dict[tuple[str, str, str], str] = {}
        self.refused: list[tuple[str, str, str]] = []

    def open_for_train(self, *, target: str, bake: Bake, train_id: str) -> str | None:
        key = (train_id, target, bake.request_id)
        lock = self.store.get(LOCK, target) if self.store is not None else None
        held = self.store.get(ROLLOUT, lock.doc["rollout_id"]) if self.store is not None and lock else None
        if lock and held and not Rollout.from_doc(held.doc).terminal and key not in self.opened:
            self.refused.append(key)
            raise TargetBusy(target=target, rollout_id=held.key, user=REQUESTER, ami_id="ami-0old", since="earlier")
        return self.opened.setdefault(key, f"r-{len(self.opened) + 1:06d}")


@dataclass
class TrainBot:
    """One bot's release-train services over `store`; `again()` is the same bot after a restart."""

    store: StoreBase
    config: Config
    auto: FakeAutoBakes
    rollouts: FakeRollouts
    dirty: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.trains = TrainBook(store=self.store)
        self.offers = RebakeOffers(config=self.config, store=self.store)
        self.door = door = TrainAutoBakes(config=self.config, store=self.store, inner=self.auto, trains=self.trains)
        self.flow = ReleaseFlow(
            config=self.config,
            store=self.store,
            trains=self.trains,
            auto=door,
            rollouts=lambda: self.rollouts,
            offers=self.offers,
            mark_bake_dirty=self.dirty.append,
        )
        self.rebakes = Rebakes(
            config=self.config,
            store=self.store,
            access=Access(self.config.access, NoChat()),  # type: ignore[arg-type]
            offers=self.offers,
            auto=door,
            trains=self.trains,
            mark_bake_dirty=self.dirty.append,
        )

    def again(self) -> TrainBot:
        return TrainBot(self.store, self.config, self.auto, self.rollouts)

    def bake(self, request_id: str) -> Bake:
        rec = self.store.get(BAKE, request_id)
        assert rec is not None, request_id
        return Bake.from_doc(rec.doc)

    def release(self, request_id: str, ami_id: str) -> Bake:
        """The bake's pipeline succeeded (Publish included) and its AMI is known."""
        publish = StepState(state="Succeeded", updated="2026-12-01T10:30:00Z")

        def change(doc: dict[str, Any]) -> dict[str, Any]:
            b = Bake.from_doc(doc)
            done = replace(
                b,
                status=BakeStatus.SUCCEEDED,
                stages={**b.stages, "Publish": publish},
                amis=(Ami(region=REGION, ami_id=ami_id, account_id="123456789012"),),
            )
            return done.to_doc()

        self.store.mutate(BAKE, request_id, change)
        record_latest(self.store, self.bake(request_id))  # as the bake service does on success
        return self.bake(request_id)


def person_bake(store: StoreBase, request_id: str = "b-base01", image: str = "base", **kw: Any) -> Bake:
    bake = Bake(
        request_id=request_id,
        image=image,
        requested_by=REQUESTER,
        requested_at="2026-12-01T09:00:00Z",
        reason="CVE-1",
        channel="C0BAKERY",
        pipeline=f"ami-bakery-{image}",
        **{"status": BakeStatus.RUNNING, **kw},
    )
    store.create(BAKE, request_id, bake.to_doc(), index=bake_index(bake.to_doc()))
    return bake


@pytest.fixture(scope="module")
def dynamodb_client(moto_endpoint: str) -> Any:
    return new_session(REGION).client("dynamodb")


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        opened: StoreBase = SqliteStore(tmp_path / "state.db")
    else:
        request.getfixturevalue("moto")
        client = request.getfixturevalue("dynamodb_client")
        ensure_table(client, TABLE)
        opened = DynamoStore(client, TABLE)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Any:
    opened = SqliteStore(tmp_path / "state.db")
    yield opened
    opened.close()


def train_on(store: StoreBase, **config: str) -> TrainBot:
    return TrainBot(store, make_config(**config), FakeAutoBakes(store), FakeRollouts(store))
