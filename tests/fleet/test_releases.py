"""An image's releases in one account and region: which count, their order, and what is newer than a given one."""

from __future__ import annotations

from bot.domain.fleet_types import OwnedAmi
from bot.fleet.releases import good_releases, newer_than, newest_good, released_of


def ami(n: int, *, image: str = "web", released: bool = True, state: str = "available") -> OwnedAmi:
    tags = {"bakery:image": image} | ({"bakery:released": "true"} if released else {})
    return OwnedAmi(
        ami_id=f"ami-0{n:016x}",
        name=f"{image}-{n}",
        state=state,
        created=f"2026-11-{n:02d}T10:00:00.000Z",
        region="eu-west-1",
        account_id="123456789012",
        tags=tags,
    )


def test_only_the_images_released_available_amis_count_newest_first():
    amis = [ami(1), ami(3), ami(2, released=False), ami(4, image="base"), ami(5, state="pending"), ami(6)]

    assert [a.ami_id for a in released_of(amis, "web")] == [ami(6).ami_id, ami(3).ami_id, ami(1).ami_id]


def test_a_revoked_release_is_not_good_and_the_one_before_it_is_newest():
    amis = [ami(1), ami(2), ami(3)]
    revoked = {ami(3).ami_id}

    assert [a.ami_id for a in good_releases(amis, "web", revoked.__contains__)] == [ami(2).ami_id, ami(1).ami_id]
    assert newest_good(amis, "web", revoked.__contains__) == ami(2)
    assert newest_good([ami(3)], "web", revoked.__contains__) is None


def test_what_is_newer_than_a_release_and_none_for_an_ami_that_is_not_one():
    releases = released_of([ami(1), ami(2), ami(3)], "web")

    assert newer_than(releases, ami(1).ami_id) == [ami(3), ami(2)]
    assert newer_than(releases, ami(3).ami_id) == []
    assert newer_than(releases, "ami-0ffffffffffffffff") is None
