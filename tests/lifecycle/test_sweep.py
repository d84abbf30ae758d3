"""The sweep over several accounts and regions (§14), against the in-memory EC2 of fakes.py: what it removes,
what it keeps because of use and why, the calls it makes, and a deregistration AWS refuses."""

from __future__ import annotations

from bot.bakes.record import Bake
from bot.rollouts.record import Rollout, RolloutStatus
from tests.lifecycle.fakes import BAKERY, MEMBER, World
from tests.lifecycle.helpers import Setup, days


def releases(w: World, image: str = "base", *, n: int = 4, account: str = BAKERY, region: str = "eu-west-1"):
    """n released AMIs, oldest first (10 days apart)."""
    return [w.ami(image, days(10 * (n - i)), released=True, account=account, region=region) for i in range(n)]


def removed(report):
    return sorted(p.ami_id for p in report.removed)


def test_a_sweep_deregisters_the_older_releases_and_deletes_their_snapshots():
    w = World()
    amis = releases(w)
    s = Setup(w)

    report = s.sweep.run()

    assert removed(report) == sorted(a.ami_id for a in amis[:2])
    assert set(w.at().amis) == {a.ami_id for a in amis[2:]}
    assert w.at().snapshots == {a.snapshot_ids[0] for a in amis[2:]}
    assert report.freed_gb == 16 and report.freed_per_month == 0.8
    # Noted for rollouts that checked one of them before: refused once they get the image's lock.
    assert all(s.store.get("ami-deregistered", a.ami_id) for a in amis[:2])


def test_keep_counts_hold_per_region():
    w = World()
    here = releases(w, n=3)
    there = releases(w, n=3, region="us-east-1")

    report = Setup(w).sweep.run()

    assert removed(report) == sorted([here[0].ami_id, there[0].ami_id])
    assert len(w.at(region="us-east-1").amis) == 2 and len(w.at().amis) == 2


def test_an_ami_without_bakery_image_is_never_touched():
    w = World()
    releases(w)
    foreign = w.ami(None, days(400), tags={"Name": "someone else's"})

    Setup(w).sweep.run()

    assert foreign.ami_id in w.at().amis


def test_an_ami_naming_an_unconfigured_image_is_left_alone_and_reported_once():
    w = World()
    stray = [w.ami("retired", days(400)) for _ in range(3)]

    report = Setup(w).sweep.run()

    assert all(a.ami_id in w.at().amis for a in stray)
    assert report.unconfigured == ("retired",)


def test_the_dry_run_changes_nothing():
    w = World()
    releases(w)
    w.ami("base", days(30))
    w.ami("base", days(90), released=True, region="us-east-1")
    before = w.everything()

    report = Setup(w).sweep.dry_run()

    assert len(report.removed) == 3 and report.dry_run
    assert w.everything() == before
    assert w.calls["deregister"] == 0 and w.calls["deprecate"] == 0


def test_a_running_or_stopped_instance_keeps_its_ami():
    w = World()
    amis = releases(w)
    w.at().instances["i-running"] = (amis[0].ami_id, "running")
    w.at().instances["i-stopped"] = (amis[1].ami_id, "stopped")

    report = Setup(w).sweep.run()

    assert report.removed == ()
    assert {p.uses[0].resource for p in report.in_use} == {"i-running", "i-stopped"}


def test_any_version_of_a_targets_launch_template_keeps_its_ami():
    w = World()
    amis = releases(w)
    w.at().templates["base-canary"] = [amis[0].ami_id, amis[3].ami_id]  # version 1, not the newest

    report = Setup(w).sweep.run()

    assert removed(report) == [amis[1].ami_id]
    [kept] = report.in_use
    assert (kept.ami_id, kept.uses[0].resource) == (amis[0].ami_id, "base-canary:1")


def test_a_latest_parameter_keeps_its_ami():
    w = World()
    amis = releases(w)
    w.at().parameters["/bakery/images/base/latest"] = amis[0].ami_id

    report = Setup(w).sweep.run()

    assert removed(report) == [amis[1].ami_id]
    assert report.in_use[0].uses[0].kind == "ssm-parameter"


def test_the_source_ami_of_a_bake_in_flight_is_kept():
    w = World()
    amis = releases(w)
    s = Setup(w)
    s.bakes = [
        Bake(
            request_id="b-child",
            image="web",
            requested_by="U1",
            requested_at="2026-12-01T00:00:00Z",
            reason="",
            channel="C",
            pipeline="p",
            source_ami=amis[0].ami_id,
        )
    ]

    report = s.sweep.run()

    assert removed(report) == [amis[1].ami_id]
    assert report.in_use[0].uses[0].detail == "source AMI of a bake in flight"


def test_an_instance_in_the_member_account_keeps_a_base_ami_shared_with_it():
    w = World()
    amis = releases(w)
    w.at(MEMBER).instances["i-member"] = (amis[0].ami_id, "running")

    report = Setup(w).sweep.run()

    assert removed(report) == [amis[1].ami_id]
    use = report.in_use[0].uses[0]
    assert (use.resource, use.account) == ("i-member", MEMBER)


def test_a_member_images_amis_are_swept_in_its_own_account():
    w = World()
    amis = releases(w, "web", account=MEMBER)

    report = Setup(w).sweep.run()

    assert removed(report) == sorted(a.ami_id for a in amis[:2])
    assert set(w.at(MEMBER).amis) == {a.ami_id for a in amis[2:]}


def test_released_amis_superseded_long_enough_get_a_deprecation_time_once():
    w = World()
    old = w.ami("base", days(90), released=True)
    newer = w.ami("base", days(40), released=True)  # superseded old 40 days ago (deprecate_after_days: 30)
    there = w.ami("base", days(90), released=True, region="us-east-1", deprecation_time="2026-10-01T00:00:00Z")
    w.ami("base", days(40), released=True, region="us-east-1")

    report = Setup(w).sweep.run()

    assert [p.ami_id for p in report.deprecated] == [old.ami_id]
    assert w.at().amis[old.ami_id].deprecation_time == "2026-12-01T12:00:00Z"
    assert w.at().amis[newer.ami_id].deprecation_time is None
    assert w.at(region="us-east-1").amis[there.ami_id].deprecation_time == "2026-10-01T00:00:00Z"  # not re-set
    assert Setup(w).sweep.run().deprecated == ()  # once


def test_a_deregistration_aws_refuses_is_reported_and_found_again_next_time():
    w = World()
    amis = releases(w, n=3)
    w.at().refuse.add(amis[0].ami_id)

    first = Setup(w).sweep.run()
    second = Setup(w).sweep.dry_run()

    assert [f.planned.ami_id for f in first.failed] == [amis[0].ami_id]
    assert "deregistration protection" in first.failed[0].reason
    assert removed(second) == [amis[0].ami_id]


def test_a_rollout_started_between_the_listing_and_the_deregistration_keeps_its_ami():
    w = World()
    amis = releases(w, n=3)
    s = Setup(w)

    def rollout_starts(planned):
        s.rollouts.append(
            Rollout(
                rollout_id="r-racing",
                target="base-canary",
                image="base",
                ami_id=planned.ami_id,
                region="eu-west-1",
                auto_scaling_group="base-canary",
                requested_by="U0ALICE",
                requested_at="2026-12-01T12:00:00Z",
                channel="C",
                approval_needed=False,
                status=RolloutStatus.STARTING,
            )
        )

    s.before = rollout_starts
    report = s.sweep.run()

    assert report.removed == () and amis[0].ami_id in w.at().amis
    assert report.in_use[0].uses[0].resource == "r-racing"


def test_a_launch_template_version_made_in_between_keeps_its_ami():
    w = World()
    amis = releases(w, n=3)
    s = Setup(w)
    s.before = lambda planned: w.at().templates.setdefault("base-canary", []).append(planned.ami_id)

    report = s.sweep.run()

    assert report.removed == () and amis[0].ami_id in w.at().amis


def test_references_are_read_once_per_account_and_region_for_all_amis_and_once_more_per_removal():
    w = World()
    for region in ("eu-west-1", "us-east-1"):
        releases(w, n=12, region=region)
    s = Setup(w)

    report = s.sweep.run()

    assert len(report.removed) == 20
    # Listing: base's two regions and web's (member) region. References: 2 regions x 2 accounts reached.
    assert w.calls["bakery_amis"] == 3
    # Then the one re-check per deregistration, in each account reached in its region: 20 x 2.
    assert w.calls["references"] == 4 + 40 and s.sweep.rechecks == 40
    assert w.calls["under"] == 4


def test_a_confirmed_run_removes_only_what_was_shown_and_still_qualifies():
    w = World()
    amis = releases(w, n=4)
    s = Setup(w)
    shown = {p.ami_id for p in s.sweep.dry_run().removed}
    w.at().instances["i-new"] = (amis[0].ami_id, "running")  # in use since it was shown
    later = w.ami("base", days(0), released=True)  # makes amis[2] removable, but it was not shown

    report = s.sweep.run(only=shown)

    assert removed(report) == [amis[1].ami_id]
    assert amis[2].ami_id in w.at().amis and later.ami_id in w.at().amis


def test_a_rollout_holding_a_target_keeps_its_ami_before_the_rollouts_index_shows_it():
    # On DynamoDB the rollouts' index may lag; the target's lock, read by key, is written before the rollout.
    w = World()
    amis = releases(w, n=3)
    s = Setup(w)
    s.before = lambda planned: s.store.create(
        "target-lock", "base-canary", {"rollout_id": "r-new", "ami_id": planned.ami_id, "user": "U1", "since": ""}
    )

    report = s.sweep.run()

    assert report.removed == () and amis[0].ami_id in w.at().amis
    assert report.in_use[0].uses[0].resource == "r-new"
