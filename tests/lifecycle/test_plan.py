"""The lifecycle plan (§14), pure: what is kept, deprecated and removed of one image's AMIs in one place."""

from __future__ import annotations

from bot.config import LifecycleConfig
from bot.lifecycle.plan import plan_place, uses_of_bakes
from bot.lifecycle.report import Use
from tests.lifecycle.fakes import World
from tests.lifecycle.helpers import NOW, days

LIFECYCLE = LifecycleConfig(keep_released=2, keep_unreleased_days=7, deprecate_after_days=30)


def plan(amis, *, uses=None, revoked=(), busy=None, lifecycle=LIFECYCLE):
    return plan_place(
        amis,
        image="base",
        lifecycle=lifecycle,
        now=NOW,
        revoked=set(revoked),
        uses=uses or {},
        busy_requests=busy or {},
    )


def ids(planned):
    return [p.ami_id for p in planned]


def test_the_keep_released_newest_releases_are_kept_and_older_ones_removed():
    w = World()
    old, mid, new = (w.ami("base", days(d), released=True) for d in (50, 20, 1))

    result = plan([old, mid, new])

    assert ids(result.remove) == [old.ami_id]
    assert result.kept == 2


def test_a_revoked_release_does_not_count_among_the_kept_and_is_removed():
    w = World()
    old, mid, new = (w.ami("base", days(d), released=True) for d in (50, 20, 1))

    result = plan([old, mid, new], revoked=[new.ami_id])

    assert sorted(ids(result.remove)) == sorted([new.ami_id])
    assert result.kept == 2  # old and mid are now the two newest good releases


def test_unreleased_amis_younger_than_keep_unreleased_days_are_kept():
    w = World()
    young, old = w.ami("base", days(6)), w.ami("base", days(8))

    result = plan([young, old])

    assert ids(result.remove) == [old.ami_id]
    assert "unreleased, 8 days old" in result.remove[0].why


def test_a_pending_ami_is_never_removed_whatever_its_age():
    w = World()
    pending = w.ami("base", days(30), state="pending")

    assert plan([pending]).remove == ()


def test_an_ami_in_use_is_kept_with_its_uses():
    w = World()
    old = w.ami("base", days(40))
    use = Use("instance", "i-0abc", "stopped")

    result = plan([old], uses={old.ami_id: [use]})

    assert result.remove == ()
    assert ids(result.in_use) == [old.ami_id]
    assert result.in_use[0].uses == (use,)


def test_an_ami_tagged_with_a_bake_in_flight_is_in_use():
    w = World()
    old = w.ami("base", days(40), tags={"bakery:request-id": "b-waits"})

    result = plan([old], busy={"b-waits": "running"})

    assert ids(result.in_use) == [old.ami_id]
    assert result.in_use[0].uses[0].resource == "b-waits"


def test_amis_of_another_image_are_not_this_images_business():
    w = World()
    other = w.ami("web", days(40))

    result = plan([other])

    assert result.remove == () and result.kept == 0


def test_a_release_superseded_for_deprecate_after_days_gets_a_deprecation_time_once():
    w = World()
    old = w.ami("base", days(60), released=True)
    newer = w.ami("base", days(31), released=True)
    newest = w.ami("base", days(1), released=True)
    lifecycle = LifecycleConfig(keep_released=5, keep_unreleased_days=7, deprecate_after_days=30)

    result = plan([old, newer, newest], lifecycle=lifecycle)

    # old was superseded 31 days ago (by newer), newer only a day ago (by newest).
    assert ids(result.deprecate) == [old.ami_id]
    already = w.ami("base", days(60), released=True, deprecation_time="2026-11-01T00:00:00Z")
    assert plan([already, newer, newest], lifecycle=lifecycle).deprecate == ()


def test_the_bakes_in_flight_make_their_amis_and_source_amis_in_use():
    from bot.bakes.record import Bake
    from bot.domain.models import Ami

    bake = Bake(
        request_id="b-abc",
        image="web",
        requested_by="U1",
        requested_at="2026-12-01T00:00:00Z",
        reason="",
        channel="C",
        pipeline="p",
        source_ami="ami-source",
        amis=(Ami(region="eu-west-1", ami_id="ami-made"),),
    )

    uses, busy = uses_of_bakes([bake])

    assert set(uses) == {"ami-source", "ami-made"}
    assert busy == {"b-abc": "requested"}
