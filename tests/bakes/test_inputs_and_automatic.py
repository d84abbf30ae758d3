"""Every bake pins its source AMI and carries its inputs fingerprint; the same inputs released already open
nothing (unless --force); automatic bakes are the bakery's own and open exactly once per (image, cause), on
SQLite and on DynamoDB (CONTRACT §7, §12; issue 11 items 3, 6, 7, 9)."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.access.service import Access
from bot.adapters.git.repo import GitRepo
from bot.bakes.automatic import automatic_request_id
from bot.bakes.committing import CLAIM_SECONDS
from bot.bakes.following import EXECUTION
from bot.bakes.images import IMAGE
from bot.bakes.record import Bake, BakeStatus
from bot.bakes.service import BakeService
from bot.config import ImageConfig, parse_config
from bot.config.model import Where
from bot.domain.causes import BAKERY_USER, Cause, CauseKind
from bot.domain.commands import Bake as BakeCommand
from bot.domain.errors import BadRequest, BakeryError, NotAllowed
from bot.domain.fingerprint import fingerprint
from bot.domain.models import Ami, BakeResult, PipelineEvent, parse_trailers
from bot.domain.times import utc_now
from bot.state.base import StoreBase
from bot.state.sqlite import SqliteStore
from tests.fixtures.bakery import git_log, make_bare_repo
from tests.state.conftest import dynamodb_client, open_same_store  # noqa: F401 - fixtures, both stores

PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
UPSTREAM_AMI, NEWER_UPSTREAM_AMI, BASE_AMI = "ami-0aaaaaaaaaaaaaaa1", "ami-0aaaaaaaaaaaaaaa2", "ami-0bbbbbbbbbbbbbbb1"
BAKER, OUTSIDER = "U0CAROL", "U0MALLORY"


def config_text(root: Path) -> str:
    return f"""
slack: {{channel: C0BAKERY}}
access: {{bakers: [{BAKER}], approvers: [U0ALICE], deployers: [U0ALICE]}}
images:
  base:
    repository: {root / "base.git"}
    pipeline: ami-bakery-base
    region: eu-west-1
    upstream: {{ssm_parameter: {PARAMETER}}}
    variables: {{instance_type: t3.micro}}
  web: {{repository: {root / "web.git"}, pipeline: ami-bakery-web, parent: base, on_parent_release: bake}}
"""


class FakeParameters:
    """SSM in one region: the values tests set, and every read remembered with its region."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {PARAMETER: UPSTREAM_AMI}
        self.reads: list[tuple[str | None, str]] = []

    def for_region(self, where: Where) -> FakeParameters:
        self._region = where.region if isinstance(where, ImageConfig) else where  # asked for an image
        return self

    def get(self, name: str) -> str | None:
        self.reads.append((self._region, name))
        return self.values.get(name)


class NoChat:
    def group_members(self, group_id: str) -> frozenset[str]:
        return frozenset()


class Board:
    def __init__(self) -> None:
        self.dirty: list[str] = []

    def mark_dirty(self, request_id: str) -> None:
        self.dirty.append(request_id)


class World:
    def __init__(self, root: Path, store: StoreBase):
        self.root = root
        self.store = store
        self.config = parse_config(config_text(root))
        self.bares = {name: make_bare_repo(root, name) for name in ("base", "web")}
        self.parameters = FakeParameters()
        self.board = Board()
        self.repos = {name: GitRepo(str(self.bares[name]), "main", root / "cache") for name in self.bares}
        self.bakes = self.service(lambda job: job())  # the commit at once, as the bake worker would make it
        self.executions = 0

    def service(self, run_async: Callable[[Callable[[], None]], None], **kw: Any) -> BakeService:
        """A bot's bake service on this state and these repositories (another one is a restarted bot)."""
        return BakeService(
            **kw,
            config=self.config,
            store=self.store,
            access=Access(self.config.access, NoChat()),  # type: ignore[arg-type]
            board=self.board,
            repo_for=lambda image: self.repos[image.name],
            pipeline_for=lambda region: pytest.fail("no pipeline call here"),
            images_for=lambda region: pytest.fail("no EC2 call here"),
            run_async=run_async,
            parameters_for=self.parameters.for_region,
        )

    def request_file(self, image: str) -> dict[str, object]:
        request: dict[str, object] = git_log(self.bares[image])[0]["request"]
        return request

    def commits(self, image: str) -> list[dict[str, str]]:
        return [c for c in git_log(self.bares[image]) if "Bakery-Request:" in c["message"]]

    def release(self, bake: Bake, ami: str) -> Bake:
        """The bake's pipeline runs to the end: its AMI reported, then the execution succeeds."""
        self.executions += 1
        execution = f"5f0d2a4e-1c3b-4d6e-8f9a-0b1c2d3e4f{self.executions:02d}"
        image = self.config.images[bake.image]
        self.store.create(EXECUTION, execution, {"request_id": bake.request_id, "commit_id": bake.commit_id})
        self.bakes.apply(
            BakeResult(
                image=bake.image,
                request_id=bake.request_id,
                commit_id=bake.commit_id,
                pipeline=image.pipeline,
                execution_id=execution,
                status="succeeded",
                amis=(Ami(region="eu-west-1", ami_id=ami),),
            )
        )
        at = "2026-11-26T09:30:00Z"
        self.bakes.apply(PipelineEvent("pipeline", image.pipeline, execution, "STARTED", "2026-11-26T09:00:00Z"))
        self.bakes.apply(PipelineEvent("pipeline", image.pipeline, execution, "SUCCEEDED", at))
        released = self.bakes.get(bake.request_id)
        assert released is not None and released.released
        return released

    def push(self, image: str, name: str, text: str) -> None:
        work = self.root / f"{image}-seed"
        (work / name).write_text(text)
        git = ["git", "-c", "user.name=seed", "-c", "user.email=s@example.invalid", "-C", str(work)]
        subprocess.run([*git, "add", "."], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "change"], check=True)
        subprocess.run([*git, "pull", "-q", "--rebase", str(self.bares[image]), "main"], check=True)
        subprocess.run([*git, "push", "-q", str(self.bares[image]), "HEAD:main"], check=True)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path, SqliteStore(tmp_path / "state.db"))


@pytest.fixture
def either_world(tmp_path: Path, open_same_store: Callable[[], StoreBase]) -> World:  # noqa: F811
    """The tests of what the conditional writes decide, on SQLite and on DynamoDB (moto)."""
    return World(tmp_path, open_same_store())


def upstream_cause(ami: str = NEWER_UPSTREAM_AMI) -> Cause:
    return Cause(CauseKind.UPSTREAM, image="base", ami_id=ami, parameter=PARAMETER, train_id="t-abc234")


def tree_of(bare: Path) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(bare), "rev-parse", "main^{tree}"], capture_output=True, text=True, check=True
    ).stdout.strip()


# --- pinning and the fingerprint -----------------------------------------------------------------


def test_a_parentless_image_is_pinned_on_its_upstream_parameter_read_when_the_bake_is_asked_for(world):
    tree = tree_of(world.bares["base"])  # before the bake: the request file is no input
    bake = world.bakes.open_bake(user=BAKER, request=BakeCommand(image="base", reason="CVE-1"))
    assert world.parameters.reads == [("eu-west-1", PARAMETER)]
    expected = fingerprint(tree=tree, variables={"instance_type": "t3.micro"}, source_ami=UPSTREAM_AMI)
    assert (bake.source_ami, bake.inputs) == (UPSTREAM_AMI, expected)
    assert world.request_file("base")["source_ami"] == UPSTREAM_AMI
    assert world.request_file("base")["inputs"] == expected


def test_a_child_is_pinned_on_its_parents_released_ami(world):
    base = world.bakes.open_bake(user=BAKER, request=BakeCommand(image="base"))
    world.release(world.bakes.get(base.request_id), BASE_AMI)
    web = world.bakes.open_bake(user=BAKER, request=BakeCommand(image="web"))
    assert web.source_ami == BASE_AMI and web.inputs
    assert world.request_file("web")["source_ami"] == BASE_AMI
    assert world.request_file("web")["inputs"] == web.inputs


def test_a_source_ami_in_the_request_wins_and_reads_no_parameter(world):
    bake = world.bakes.open_bake(user=BAKER, request=BakeCommand(image="base", source_ami="ami-0ccccccccccccccc1"))
    assert bake.source_ami == "ami-0ccccccccccccccc1" and world.parameters.reads == []


@pytest.mark.parametrize("value", [None, "not-an-ami", "ami-XYZ"])
def test_an_upstream_parameter_that_names_no_ami_refuses_the_bake_and_changes_nothing(world, value):
    if value is None:
        del world.parameters.values[PARAMETER]
    else:
        world.parameters.values[PARAMETER] = value
    with pytest.raises(BadRequest, match="nothing to pin the bake on"):
        world.bakes.open_bake(user=BAKER, request=BakeCommand(image="base"))
    assert world.commits("base") == [] and world.board.dirty == []


# --- rebake avoidance ----------------------------------------------------------------------------


def test_the_same_inputs_released_already_open_nothing_and_say_which_ami_has_them(either_world):
    world = either_world
    first = world.bakes.open_bake(user=BAKER, request=BakeCommand(image="base"))
    world.release(world.bakes.get(first.request_id), BASE_AMI)
    dirty = list(world.board.dirty)
    with pytest.raises(BadRequest) as refused:
        world.bakes.open_bake(user=BAKER, request=BakeCommand(image="base", reason="again"))
    assert str(refused.value) == (
        f"`base` was already baked with these inputs: `{BASE_AMI}` on 2026-11-26 (`{first.request_id}`). "
        "`/bake base --force …` bakes it anyway."
    )
    assert len(world.commits("base")) == 1 and world.board.dirty == dirty


def test_new_inputs_bake_again_a_new_upstream_ami_a_variable_or_a_change_in_the_repository(world):
    first = world.bakes.open_bake(user=BAKER, request=BakeCommand(image="base"))
    world.release(world.bakes.get(first.request_id), BASE_AMI)
    world.parameters.values[PARAMETER] = NEWER_UPSTREAM_AMI
    assert world.bakes.open_bake(user=BAKER, request=BakeCommand(image="base")).source_ami == NEWER_UPSTREAM_AMI
    world.parameters.values[PARAMETER] = UPSTREAM_AMI
    world.bakes.open_bake(user=BAKER, request=BakeCommand(image="base", variables={"instance_type": "t3.small"}))
    world.push("base", "base.pkr.hcl", "source {}\n")
    world.bakes.open_bake(user=BAKER, request=BakeCommand(image="base"))
    assert len(world.commits("base")) == 4


def test_a_bake_not_yet_released_is_no_reason_to_refuse(world):
    world.bakes.open_bake(user=BAKER, request=BakeCommand(image="base"))
    world.bakes.open_bake(user=BAKER, request=BakeCommand(image="base"))  # the first is still in flight
    assert len(world.commits("base")) == 2


def test_force_bakes_the_same_inputs_anyway_and_says_so_on_the_record(world):
    first = world.bakes.open_bake(user=BAKER, request=BakeCommand(image="base"))
    world.release(world.bakes.get(first.request_id), BASE_AMI)
    forced = world.bakes.open_bake(user=BAKER, request=BakeCommand(image="base", force=True))
    assert forced.forced and forced.inputs == first.inputs and len(world.commits("base")) == 2
    assert not world.bakes.open_bake(user=BAKER, request=BakeCommand(image="web", force=True)).forced


def test_force_by_someone_who_may_not_bake_is_refused_and_changes_nothing(world):
    with pytest.raises(NotAllowed, match="not in `access.bakers`"):
        world.bakes.open_bake(user=OUTSIDER, request=BakeCommand(image="base", force=True))
    assert world.commits("base") == [] and world.parameters.reads == []


# --- automatic bakes -----------------------------------------------------------------------------


def test_an_automatic_bake_is_the_bakerys_own_with_its_cause_in_the_trailers(world):
    cause = upstream_cause()
    request_id = world.bakes.open_automatic("base", source_ami=NEWER_UPSTREAM_AMI, cause=cause)
    bake = world.bakes.get(request_id)
    assert (bake.requested_by, bake.cause, bake.train_id, bake.source_ami) == (
        BAKERY_USER,
        cause,
        "t-abc234",
        NEWER_UPSTREAM_AMI,
    )
    assert bake.reason == f"upstream al2023-ami-kernel-default-x86_64 moved to {NEWER_UPSTREAM_AMI}"
    [commit] = world.commits("base")
    trailers = parse_trailers(commit["message"])
    assert trailers["Requested-By"] == "bakery" and trailers["Bakery-Request"] == request_id
    assert trailers["Bakery-Cause"] == f"upstream:{PARAMETER}={NEWER_UPSTREAM_AMI}"
    assert world.request_file("base")["requested_by"] == "bakery"
    assert world.request_file("base")["inputs"] == bake.inputs != ""
    assert world.parameters.reads == []  # the cause pinned the AMI: the parameter is not read again


def test_a_cause_delivered_twice_or_racing_itself_opens_one_bake(either_world):
    world = either_world
    cause = Cause(CauseKind.PARENT, image="base", ami_id=BASE_AMI, request_id="b-parent1")
    start = threading.Barrier(4)

    def open_once(_: int) -> str | None:
        start.wait()
        return world.bakes.open_automatic("web", source_ami=BASE_AMI, cause=cause)

    with ThreadPoolExecutor(max_workers=4) as pool:
        opened = list(pool.map(open_once, range(4)))
    assert [o for o in opened if o] == [automatic_request_id("web", cause)]
    assert world.bakes.open_automatic("web", source_ami=BASE_AMI, cause=cause) is None  # delivered again later
    assert len(world.commits("web")) == 1


def test_an_automatic_bake_whose_inputs_were_released_opens_nothing(either_world):
    world = either_world
    first = world.bakes.open_automatic("base", source_ami=NEWER_UPSTREAM_AMI, cause=upstream_cause())
    world.release(world.bakes.get(first), BASE_AMI)
    again = Cause(CauseKind.UPSTREAM, image="base", ami_id=NEWER_UPSTREAM_AMI, parameter=PARAMETER, train_id="t-x")
    assert world.bakes.open_automatic("base", source_ami=NEWER_UPSTREAM_AMI, cause=again) is None
    assert len(world.commits("base")) == 1


def test_the_released_bake_a_rebake_would_repeat_is_found_before_anything_is_opened(world):
    assert world.bakes.released_with_inputs_on("base", NEWER_UPSTREAM_AMI) is None
    first = world.bakes.open_automatic("base", source_ami=NEWER_UPSTREAM_AMI, cause=upstream_cause())
    assert world.bakes.released_with_inputs_on("base", NEWER_UPSTREAM_AMI) is None  # not released yet
    world.release(world.bakes.get(first), BASE_AMI)
    assert world.bakes.released_with_inputs_on("base", NEWER_UPSTREAM_AMI).request_id == first
    assert world.bakes.released_with_inputs_on("base", UPSTREAM_AMI) is None


def test_an_upstream_cause_opens_nothing_while_a_bake_of_the_image_is_in_flight(world):
    world.bakes.open_bake(user=BAKER, request=BakeCommand(image="base"))
    assert world.bakes.open_automatic("base", source_ami=NEWER_UPSTREAM_AMI, cause=upstream_cause()) is None
    parent = Cause(CauseKind.PARENT, image="base", ami_id=BASE_AMI, request_id="b-parent1")
    world.bakes.open_bake(user=BAKER, request=BakeCommand(image="web"))
    assert world.bakes.open_automatic("web", source_ami=BASE_AMI, cause=parent) is not None  # a release does


def test_an_automatic_bake_cut_off_by_a_restart_before_its_commit_is_committed_once_after_it(world):
    parent = Cause(CauseKind.PARENT, image="base", ami_id=BASE_AMI, request_id="b-parent1")
    held: list[Callable[[], None]] = []
    opened = world.service(held.append).open_automatic("web", source_ami=BASE_AMI, cause=parent)  # then it stops
    # On the same state and repositories, once the first bot's commit claim has lapsed (it no longer renews it).
    lapsed = lambda: utc_now() + timedelta(seconds=CLAIM_SECONDS + 1)  # noqa: E731
    restarted = world.service(lambda job: job(), clock=lapsed)
    restarted.recover()
    assert restarted.get(opened).status == BakeStatus.COMMITTED
    restarted.recover()
    for job in held:  # and even if the first bot's worker made its commit after all
        job()
    assert len(world.commits("web")) == 1 and restarted.get(opened).commit_id == world.commits("web")[0]["sha"]
    assert restarted.open_automatic("web", source_ami=BASE_AMI, cause=parent) is None


def test_an_automatic_bake_of_an_image_that_is_not_configured_opens_nothing(world):
    assert world.bakes.open_automatic("nginx", source_ami=BASE_AMI, cause=upstream_cause()) is None


def test_an_automatic_bake_whose_repository_cannot_be_read_raises_and_may_be_retried(world):
    shutil.rmtree(world.bares["base"])
    with pytest.raises(BakeryError):
        world.bakes.open_automatic("base", source_ami=NEWER_UPSTREAM_AMI, cause=upstream_cause())
    assert world.bakes.get(automatic_request_id("base", upstream_cause())) is None
    assert world.bakes.in_flight() == [] and world.store.get(IMAGE, "base") is None  # the cause may come again
