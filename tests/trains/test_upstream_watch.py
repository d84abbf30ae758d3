"""The upstream watch: a public parameter that names a new, available AMI opens one automatic bake, else nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from bot.bakes.record import Bake, BakeStatus
from bot.config import Config
from bot.config.model import AccessConfig, ImageConfig, NotificationsConfig, StateConfig, UpstreamConfig, Where
from bot.domain.causes import Cause, CauseKind
from bot.domain.errors import ParameterError
from bot.domain.ports import ImageInfo
from bot.trains.upstream import Outcome, UpstreamWatch, newest_released

PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
OLD, NEW = "ami-0aaaaaaaaaaaaaaaa", "ami-0bbbbbbbbbbbbbbbb"


def image(name: str, **kw: Any) -> ImageConfig:
    return ImageConfig(name=name, repository=f"/r/{name}", branch="main", pipeline=f"p-{name}", channel="C0", **kw)


def config(*images: ImageConfig) -> Config:
    return Config(
        channel="C0",
        access=AccessConfig(),
        state=StateConfig(),
        notifications=NotificationsConfig(),
        images={i.name: i for i in images},
        targets={},
    )


BASE = image("base", region="eu-west-1", upstream=UpstreamConfig(ssm_parameter=PARAMETER))
WEB = image("web", parent="base")


def bake(
    rid: str, name: str = "base", *, status: BakeStatus = BakeStatus.SUCCEEDED, at: str, source: str = OLD
) -> Bake:
    return Bake(
        request_id=rid,
        image=name,
        requested_by="U0CAROL",
        requested_at=at,
        reason="",
        channel="C0",
        pipeline=f"p-{name}",
        source_ami=source,
        status=status,
    )


@dataclass
class FakeBakes:
    bakes: dict[str, Bake] = field(default_factory=dict)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, b: Bake, *, latest: bool = False) -> None:
        self.bakes[b.request_id] = b
        summary = self.summaries.setdefault(b.image, {"recent": []})
        summary["recent"] = [b.request_id, *summary["recent"]]
        if latest:
            summary["latest_request"] = b.request_id

    def get(self, request_id: str) -> Bake | None:
        return self.bakes.get(request_id)

    def in_flight(self) -> list[Bake]:
        return [b for b in self.bakes.values() if not b.terminal]

    def image_summary(self, name: str) -> dict[str, Any]:
        return self.summaries.get(name, {})


@dataclass
class FakeAuto:
    opened: list[tuple[str, str, Cause]] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)

    def open_automatic(self, name: str, *, source_ami: str, cause: Cause) -> str | None:
        # As the real one: once per (image, cause.key).
        if (name, cause.key) in self.seen:
            return None
        self.seen.add((name, cause.key))
        self.opened.append((name, source_ami, cause))
        return f"b-auto{len(self.opened)}"


@dataclass
class FakeParameters:
    values: dict[str, str]
    regions: list[str | None] = field(default_factory=list)
    error: Exception | None = None

    def get(self, name: str) -> str | None:
        if self.error:
            raise self.error
        return self.values.get(name)


@dataclass
class FakeImages:
    states: dict[str, str]
    described: list[str] = field(default_factory=list)

    def find_by_request(self, request_id: str) -> list[Any]:
        return []

    def describe(self, ami_id: str) -> ImageInfo | None:
        self.described.append(ami_id)
        state = self.states.get(ami_id)
        return None if state is None else ImageInfo(ami_id, state, "al2023", "", "eu-west-1", "137112412989")


@pytest.fixture
def world():
    bakes, auto = FakeBakes(), FakeAuto()
    bakes.add(bake("b-old001", at="2026-11-01T09:00:00Z"), latest=True)
    params = FakeParameters({PARAMETER: NEW})
    images = FakeImages({NEW: "available", OLD: "available"})

    def parameters_for(where: Where) -> FakeParameters:
        params.regions.append(where.region if isinstance(where, ImageConfig) else where)  # asked for an image
        return params

    watch = UpstreamWatch(
        config=config(BASE, WEB), bakes=bakes, auto=auto, parameters_for=parameters_for, images_for=lambda r: images
    )
    return watch, bakes, auto, params, images


def test_a_new_upstream_ami_opens_one_bake_pinned_on_it_caused_by_the_parameter(world):
    watch, _, auto, params, _ = world

    check = watch.check("base")

    assert (check.outcome, check.ami_id, check.request_id) == (Outcome.OPENED, NEW, "b-auto1")
    cause = Cause(kind=CauseKind.UPSTREAM, image="base", ami_id=NEW, parameter=PARAMETER)
    assert auto.opened == [("base", NEW, cause)]
    assert cause.trailer == f"upstream:{PARAMETER}={NEW}"
    assert params.regions == ["eu-west-1"]  # read in the image's region


def test_an_unchanged_parameter_opens_nothing_and_does_not_describe_the_ami(world):
    watch, _, auto, params, images = world
    params.values[PARAMETER] = OLD

    assert watch.check("base").outcome == Outcome.UNCHANGED
    assert auto.opened == [] and images.described == []


def test_two_checks_of_the_same_move_open_one_bake(world):
    watch, _, auto, _, _ = world

    outcomes = [watch.check("base").outcome, watch.check("base").outcome]

    assert outcomes == [Outcome.OPENED, Outcome.NOT_OPENED]
    assert len(auto.opened) == 1


def test_a_bake_in_flight_holds_the_check_back(world):
    watch, bakes, auto, _, _ = world
    bakes.add(bake("b-run001", status=BakeStatus.RUNNING, at="2026-11-02T09:00:00Z"))

    assert watch.check("base").outcome == Outcome.IN_FLIGHT
    assert auto.opened == []


def test_a_bake_of_another_image_in_flight_does_not(world):
    watch, bakes, auto, _, _ = world
    bakes.add(bake("b-web001", "web", status=BakeStatus.RUNNING, at="2026-11-02T09:00:00Z"))

    assert watch.check("base").outcome == Outcome.OPENED


def test_an_image_never_released_is_not_baked_automatically(world):
    watch, bakes, auto, _, _ = world
    bakes.bakes.clear()
    bakes.summaries.clear()
    bakes.add(bake("b-fail01", status=BakeStatus.FAILED, at="2026-11-02T09:00:00Z"))

    assert watch.check("base").outcome == Outcome.NO_RELEASED_BAKE
    assert auto.opened == []


def test_the_newest_released_bake_is_compared_not_a_newer_failed_one(world):
    watch, bakes, auto, params, _ = world
    bakes.add(bake("b-rel002", at="2026-11-03T09:00:00Z", source=NEW), latest=True)
    bakes.add(bake("b-fail02", status=BakeStatus.FAILED, at="2026-11-04T09:00:00Z", source=OLD))

    assert newest_released(bakes, "base").request_id == "b-rel002"
    assert watch.check("base").outcome == Outcome.UNCHANGED


@pytest.mark.parametrize("value", ["latest", "ami-XYZ", "ami-0123", "", "resolve:ssm:/x"])
def test_a_parameter_that_names_no_ami_is_refused_and_changes_nothing(world, value):
    watch, _, auto, params, images = world
    params.values[PARAMETER] = value

    check = watch.check("base")

    assert check.outcome == Outcome.REFUSED and "not an AMI id" in check.reason
    assert auto.opened == [] and images.described == []


def test_a_missing_parameter_is_refused(world):
    watch, _, auto, params, _ = world
    params.values.clear()

    check = watch.check("base")

    assert check.outcome == Outcome.REFUSED and "does not exist in eu-west-1" in check.reason
    assert auto.opened == []


@pytest.mark.parametrize(("state", "said"), [("pending", "is pending, not available"), (None, "does not exist")])
def test_an_ami_that_is_not_available_is_refused(world, state, said):
    watch, _, auto, _, images = world
    if state is None:
        del images.states[NEW]
    else:
        images.states[NEW] = state

    check = watch.check("base")

    assert check.outcome == Outcome.REFUSED and said in check.reason and NEW in check.reason
    assert auto.opened == []


def test_a_refusal_is_logged_once_however_many_checks_find_it(world, caplog):
    watch, _, _, params, _ = world
    params.values[PARAMETER] = "latest"

    with caplog.at_level(logging.WARNING, logger="bot.trains.upstream"):
        for _ in range(3):
            watch.check("base")
        params.values[PARAMETER] = "ami-XYZ"  # a different bad value is news
        watch.check("base")

    refusals = [r.getMessage() for r in caplog.records if "upstream.refused" in r.getMessage()]
    assert len(refusals) == 2


def test_ssm_trouble_is_a_failed_check_that_opens_nothing(world):
    watch, _, auto, params, _ = world
    params.error = ParameterError("Could not read the SSM parameter: denied (AccessDeniedException)")

    check = watch.check("base")

    assert check.outcome == Outcome.FAILED and "AccessDeniedException" in check.reason
    assert auto.opened == []


def test_check_all_looks_only_at_images_with_upstream(world):
    watch, _, auto, _, _ = world

    checks = watch.check_all("arn:aws:sns:us-east-1:137112412989:amazon-linux-2023-ami-updates")

    assert [(c.image, c.outcome) for c in checks] == [("base", Outcome.OPENED)]
    assert watch.check("web").outcome == Outcome.NO_UPSTREAM


def test_an_image_without_a_region_reads_the_default_regions_parameter(world):
    watch, bakes, _, params, _ = world
    watch._config = config(replace(BASE, region=None))

    watch.check("base")

    assert params.regions == [None]
