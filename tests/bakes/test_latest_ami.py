"""The image's latest AMI (what the images built on it pin) is recorded once a bake succeeds, or loudly not."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.bakes.following import EXECUTION
from bot.bakes.images import IMAGE
from bot.bakes.record import BAKE, Bake, BakeStatus, StepState, bake_index
from bot.bakes.service import BakeService
from bot.config import parse_config
from bot.domain.errors import StateConflict
from bot.domain.models import Ami, BakeResult, PipelineEvent
from bot.state.sqlite import SqliteStore

RID, EX, AMI = "b-abc234", "5f0d2a4e-1c3b-4d6e-8f9a-0b1c2d3e4f50", "ami-0123456789abcdef0"
CONFIG = """
slack: {channel: C0BAKERY}
access: {bakers: [U0CAROL], approvers: [U0ALICE], deployers: [U0ALICE]}
images:
  base: {repository: /srv/git/base.git, pipeline: ami-bakery-base, region: eu-west-1}
"""


class RacyStore(SqliteStore):
    """A store where, while `losing` is set, every rewrite of an image record loses to another writer."""

    losing = False

    def replace(self, kind, key, doc, *, expected_version, index=None):
        if self.losing and kind == IMAGE:
            return False
        return super().replace(kind, key, doc, expected_version=expected_version, index=index)


class Board:
    def mark_dirty(self, request_id: str) -> None:
        pass


def no_remote(*_args):
    raise AssertionError("this test needs no git, pipeline or EC2 call")


@pytest.fixture
def store(tmp_path: Path):
    s = RacyStore(tmp_path / "state.db")
    yield s
    s.close()


@pytest.fixture
def bakes(store: RacyStore) -> BakeService:
    return BakeService(
        config=parse_config(CONFIG),
        store=store,
        access=None,  # type: ignore[arg-type] - no /bake in these tests
        board=Board(),
        repo_for=no_remote,
        pipeline_for=no_remote,
        images_for=no_remote,
        run_async=no_remote,
    )


def running_bake_with_its_amis(store: RacyStore) -> None:
    """A bake whose build reported its AMI, with its execution known and its image record made."""
    bake = Bake(
        request_id=RID,
        image="base",
        requested_by="U0CAROL",
        requested_at="2026-11-26T09:00:00Z",
        reason="",
        channel="C0BAKERY",
        pipeline="ami-bakery-base",
        status=BakeStatus.RUNNING,
        execution_id=EX,
        execution_state=StepState(state="STARTED", updated="2026-11-26T09:00:05Z", started="2026-11-26T09:00:05Z"),
        amis=(Ami(region="eu-west-1", ami_id=AMI),),
    )
    doc = bake.to_doc()
    store.create(BAKE, RID, doc, index=bake_index(doc))
    store.create(EXECUTION, EX, {"request_id": RID, "commit_id": "c0ffee"})
    store.create(IMAGE, "base", {"recent": [RID]})


SUCCEEDED = PipelineEvent(
    level="pipeline", pipeline="ami-bakery-base", execution_id=EX, state="SUCCEEDED", time="2026-11-26T09:30:00Z"
)


def test_a_success_whose_image_record_keeps_losing_races_fails_loudly_instead_of_dropping_the_ami(bakes, store):
    running_bake_with_its_amis(store)
    store.losing = True
    with pytest.raises(StateConflict):
        bakes.apply(SUCCEEDED)
    assert "amis" not in bakes.image_summary("base")


def test_the_same_success_delivered_again_records_the_ami_it_could_not_record_before(bakes, store):
    running_bake_with_its_amis(store)
    store.losing = True
    with pytest.raises(StateConflict):
        bakes.apply(SUCCEEDED)
    store.losing = False
    bakes.apply(SUCCEEDED)  # SQS hands the message over again: it was not deleted
    summary = bakes.image_summary("base")
    assert summary["latest_request"] == RID and [a["ami_id"] for a in summary["amis"]] == [AMI]
    assert summary["recent"] == [RID]


def test_a_repeated_success_rewrites_nothing(bakes, store):
    running_bake_with_its_amis(store)
    bakes.apply(SUCCEEDED)
    version = store.get(IMAGE, "base").version
    bakes.apply(SUCCEEDED)
    assert store.get(IMAGE, "base").version == version


class AnyoneMayBake:
    def require(self, user: str, role: str) -> None:
        pass


class OneCommitRepo:
    def commit_request(self, request, path="") -> str:
        return "c0ffee" * 6 + "c0ff"

    def commit_url(self, commit_id: str) -> str:
        return ""


def test_a_bake_whose_recent_list_keeps_losing_races_is_still_committed_and_the_failure_logged(store, caplog):
    from bot.domain.commands import Bake as BakeCommand

    store.create(IMAGE, "base", {"recent": []})
    store.losing = True
    bakes = BakeService(
        config=parse_config(CONFIG),
        store=store,
        access=AnyoneMayBake(),  # type: ignore[arg-type]
        board=Board(),
        repo_for=lambda image: OneCommitRepo(),  # type: ignore[arg-type,return-value]
        pipeline_for=no_remote,
        images_for=no_remote,
        run_async=lambda job: job(),
    )
    bake = bakes.open_bake(user="U0CAROL", request=BakeCommand(image="base"))
    assert bakes.get(bake.request_id).commit_id == OneCommitRepo().commit_request(None)
    [failure] = [r for r in caplog.records if r.getMessage().startswith("bake.recent_not_noted")]
    assert failure.exc_info and isinstance(failure.exc_info[1], StateConflict)


def succeeded_with_its_result(bakes: BakeService, store: RacyStore, request_id: str, requested_at: str, ami: str):
    """A hand-pushed bake that succeeded; then the build's bake result arrives with its AMI."""
    bake = Bake(
        request_id=request_id,
        image="base",
        requested_by="",
        requested_at=requested_at,
        reason="",
        channel="C0BAKERY",
        pipeline="ami-bakery-base",
        origin="push",
        status=BakeStatus.SUCCEEDED,
        execution_id=f"exec-{request_id}",
    )
    doc = bake.to_doc()
    store.create(BAKE, request_id, doc, index=bake_index(doc))
    result = BakeResult(
        image="base",
        request_id=request_id,
        commit_id="",
        pipeline="ami-bakery-base",
        execution_id=bake.execution_id,
        status="succeeded",
        amis=(Ami("eu-west-1", ami),),
    )
    bakes.apply(result)


def test_an_older_bake_finishing_late_does_not_replace_the_newer_ami(bakes, store):
    # Hand-pushed bakes take the pipeline event's time, which may carry fractions of a second: as text,
    # "…09:00:00.500Z" sorts before "…09:00:00Z" although it is later.
    succeeded_with_its_result(bakes, store, "h-newer00000", "2026-11-26T09:00:00.500Z", "ami-0000000000000new0")
    succeeded_with_its_result(bakes, store, "h-older00000", "2026-11-26T09:00:00Z", "ami-0000000000000old0")
    summary = bakes.image_summary("base")
    assert summary["latest_request"] == "h-newer00000"
    assert [a["ami_id"] for a in summary["amis"]] == ["ami-0000000000000new0"]
