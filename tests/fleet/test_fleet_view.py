"""`/bake fleet`'s view of each target, over in-memory ports: state, counts, how far behind, the Roll out button,
and one read per account and region, concurrently."""

from __future__ import annotations

import threading

import pytest

from bot.domain.errors import BadRequest
from bot.fleet.facts import FleetState
from bot.fleet.view import FleetView
from bot.rollouts.buttons import RolloutButtons, rollout_start_key
from bot.rollouts.record import Rollout, RolloutStatus
from bot.state.sqlite import SqliteStore
from tests.fleet.fakes import NOW, ROLE, FakeAws, FleetError, RoleRefused, ami, bake_of, config, runs

EU, US = ("", "eu-west-1"), ("", "us-east-1")
MEMBER_EU = (ROLE, "eu-west-1")


@pytest.fixture
def store(tmp_path):
    return SqliteStore(tmp_path / "state.db")


def view(aws: FakeAws, store, *, bakes=(), revoked=None, rollouts=(), cfg=None) -> FleetView:
    known = {b.request_id: b for b in bakes}
    cfg = cfg or config()
    return FleetView(
        config=cfg,
        fleet_for=aws.fleet_for,
        lifecycle_for=aws.lifecycle_for,
        revoked=(revoked or {}).get,
        bake_of=known.get,
        buttons=RolloutButtons(config=cfg, store=store),
        rollouts=lambda: list(rollouts),
        default_region="eu-west-1",
        clock=lambda: NOW,
    )


def one(report, name):
    return next(t for t in report.targets if t.target == name)


def base_releases(aws: FakeAws, n: int = 3) -> list:
    releases = [ami(i) for i in range(1, n + 1)]
    aws.amis[EU] = releases
    return releases


def test_a_target_two_bakes_behind_says_so_with_days_and_a_button_onto_the_newest(store):
    aws = FakeAws()
    r1, r2, r3 = base_releases(aws)
    aws.groups[EU] = {"base-canary": runs("base-canary", r1.ami_id, **{r1.ami_id: 2})}
    fleet = view(aws, store, bakes=[bake_of(r3)])

    t = one(fleet.report("base-canary"), "base-canary")

    assert t.state == FleetState.BEHIND
    assert (t.bakes_behind, t.newest, t.behind_since, t.days_behind) == (2, r3.ami_id, r2.created, 29)
    assert [(a.ami_id, a.instances, a.default, a.bakes_behind) for a in t.runs] == [(r1.ami_id, 2, True, 2)]
    assert t.button == rollout_start_key(r3.tags["bakery:request-id"], "base-canary")
    # The button's key is recorded, so a click resolves to the bake of the newest good AMI and this target.
    assert RolloutButtons(config=config(), store=store).lookup(t.button) == (
        r3.tags["bakery:request-id"],
        "base-canary",
    )


def test_a_current_target_has_no_button(store):
    aws = FakeAws()
    *_, r3 = base_releases(aws)
    aws.groups[EU] = {"base-canary": runs("base-canary", r3.ami_id, **{r3.ami_id: 2})}

    t = one(view(aws, store, bakes=[bake_of(r3)]).report("base-canary"), "base-canary")

    assert (t.state, t.button, t.bakes_behind, t.days_behind) == (FleetState.CURRENT, None, 0, 0)


def test_mid_refresh_each_ami_is_shown_with_its_count(store):
    aws = FakeAws()
    r1, _, r3 = base_releases(aws)
    aws.groups[EU] = {"base-canary": runs("base-canary", r3.ami_id, **{r3.ami_id: 1, r1.ami_id: 3})}

    t = one(view(aws, store, bakes=[bake_of(r3)]).report("base-canary"), "base-canary")

    assert [(a.ami_id, a.instances, a.default) for a in t.runs] == [(r3.ami_id, 1, True), (r1.ami_id, 3, False)]
    assert t.state == FleetState.BEHIND and t.bakes_behind == 2 and t.button


def test_a_target_on_a_revoked_ami_is_shown_so_with_a_button_onto_the_good_one_before_it(store):
    aws = FakeAws()
    _, r2, r3 = base_releases(aws)
    aws.groups[EU] = {"base-canary": runs("base-canary", r3.ami_id, **{r3.ami_id: 2})}

    t = one(view(aws, store, bakes=[bake_of(r2)], revoked={r3.ami_id: "CVE-2026-1"}).report(), "base-canary")

    assert t.state == FleetState.REVOKED and t.newest == r2.ami_id
    assert t.runs[0].revoked == "CVE-2026-1"
    assert t.button == rollout_start_key(r2.tags["bakery:request-id"], "base-canary")


def test_an_ami_that_is_no_release_of_the_image_there_is_shown_as_such(store):
    aws = FakeAws()
    *_, r3 = base_releases(aws)
    aws.groups[EU] = {"base-canary": runs("base-canary", "ami-0handmade", **{"ami-0handmade": 1})}

    t = one(view(aws, store, bakes=[bake_of(r3)]).report(), "base-canary")

    assert t.state == FleetState.BEHIND and t.runs[0].bakes_behind is None
    assert t.behind_since == r3.created and t.bakes_behind == 0  # nothing dates it: since the newest at least


def test_an_unreleased_bakery_ami_is_behind_the_releases_made_after_it(store):
    aws = FakeAws()
    r1, r3, unreleased = ami(1), ami(3), ami(2, released=False)
    aws.amis[EU] = [r1, unreleased, r3]
    aws.groups[EU] = {"base-canary": runs("base-canary", unreleased.ami_id)}

    t = one(view(aws, store).report(), "base-canary")

    assert t.runs[0].bakes_behind is None  # not a release of base there
    assert (t.bakes_behind, t.behind_since) == (1, r3.created)


def test_without_the_bake_of_the_newest_there_is_no_button_but_the_command_to_roll_it(store):
    aws = FakeAws()
    r1, _, r3 = base_releases(aws)
    aws.groups[EU] = {"base-canary": runs("base-canary", r1.ami_id)}

    t = one(view(aws, store).report(), "base-canary")

    assert t.button is None and f"/bake rollout base-canary {r3.ami_id}" in t.problem


def test_one_read_per_account_and_region_for_all_its_targets(store):
    aws = FakeAws()
    base_releases(aws)
    cfg_text = config_with_second_target()
    view(aws, store, cfg=config(cfg_text)).report()

    runs_calls = sorted(c for c in aws.calls if c[0] == "runs_of")
    assert runs_calls == [
        ("runs_of", EU, ("base-canary", "base-eu2")),
        ("runs_of", US, ("base-us",)),
        ("runs_of", MEMBER_EU, ("web-prod",)),
    ]
    assert sorted(c for c in aws.calls if c[0] == "bakery_amis") == [
        ("bakery_amis", EU),
        ("bakery_amis", US),
        ("bakery_amis", MEMBER_EU),
    ]


def config_with_second_target() -> str:
    from tests.fleet.fakes import CONFIG

    extra = "  base-eu2: {image: base, auto_scaling_group: base-eu2, launch_template: base-eu2}\n"
    return CONFIG + extra


def test_the_accounts_and_regions_are_read_at_the_same_time(store):
    """Three places: each runs_of waits until all three are asked, which only concurrent reads can do."""
    aws = FakeAws()
    barrier = threading.Barrier(3, timeout=5)
    plain = aws.fleet_for

    def fleet_for(where):
        fleet = plain(where)
        inner = fleet.runs_of

        def runs_of(groups):
            barrier.wait()
            return inner(groups)

        fleet.runs_of = runs_of
        return fleet

    aws.fleet_for = fleet_for
    report = view(aws, store).report()

    assert len(report.targets) == 3


def test_a_place_that_cannot_be_read_shows_its_targets_with_the_reason_and_the_rest_all_the_same(store):
    aws = FakeAws()
    r1, *_ = base_releases(aws)
    aws.groups[EU] = {"base-canary": runs("base-canary", r1.ami_id)}
    aws.refuse[MEMBER_EU] = RoleRefused("AssumeRole on web's role was refused (AccessDenied)")
    aws.refuse[US] = FleetError("DescribeAutoScalingGroups failed: Throttling")

    report = view(aws, store).report()

    assert one(report, "web-prod").state == FleetState.UNREAD
    assert "AccessDenied" in one(report, "web-prod").problem
    assert "Throttling" in one(report, "base-us").problem
    assert one(report, "base-canary").state == FleetState.BEHIND


def test_a_target_whose_group_does_not_exist_is_shown_missing(store):
    aws = FakeAws()
    base_releases(aws)

    t = one(view(aws, store).report("base-canary"), "base-canary")

    assert t.state == FleetState.MISSING and "base-canary" in t.problem


def test_an_image_names_its_targets_and_a_target_itself(store):
    aws = FakeAws()
    fleet = view(aws, store)

    assert [t.target for t in fleet.report("base").targets] == ["base-canary", "base-us"]
    assert [t.target for t in fleet.report("web-prod").targets] == ["web-prod"]
    assert [t.target for t in fleet.report().targets] == ["base-canary", "base-us", "web-prod"]


def test_a_name_that_is_neither_image_nor_target_is_refused_naming_both(store):
    with pytest.raises(BadRequest) as refused:
        view(FakeAws(), store).report("nope")

    assert "`nope`" in str(refused.value)
    assert "`base`, `web`" in str(refused.value) and "`base-canary`, `base-us`, `web-prod`" in str(refused.value)


def test_a_rollout_in_flight_is_shown(store):
    aws = FakeAws()
    r1, *_ = base_releases(aws)
    aws.groups[EU] = {"base-canary": runs("base-canary", r1.ami_id)}
    rollout = Rollout(
        rollout_id="r-abc123",
        target="base-canary",
        image="base",
        ami_id=r1.ami_id,
        region="eu-west-1",
        auto_scaling_group="base-canary",
        requested_by="U0ALICE",
        requested_at="2026-12-01T11:00:00Z",
        channel="C0BAKERY",
        approval_needed=False,
        status=RolloutStatus.IN_PROGRESS,
    )

    t = one(view(aws, store, rollouts=[rollout]).report("base-canary"), "base-canary")

    assert t.rollout == "r-abc123 (in_progress)"
