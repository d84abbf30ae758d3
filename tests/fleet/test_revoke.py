"""`/bake revoke` as a service (§14) over in-memory AWS (tests/fleet/revoke_fakes.py): what it records, tags,
deprecates and moves back, what it refuses, and who it finds still on the AMI."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from unittest.mock import Mock

import pytest

from bot.access.service import Access
from bot.bakes.record import Bake, BakeStatus
from bot.config import parse_config
from bot.domain.commands import Revoke
from bot.domain.errors import BadRequest, NotAllowed, NotFound
from bot.domain.fleet_types import GroupRuns
from bot.domain.models import Ami
from bot.fleet.revocations import Revocations
from bot.fleet.revoke import RevokeService, tag_value
from bot.rollouts.buttons import RolloutButtons
from bot.state.sqlite import SqliteStore
from tests.fleet.revoke_fakes import BAKERY, MEMBER, Aws, owned

ALICE, BOB, MALLORY = "U0ALICE", "U0BOB", "U0MALLORY"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BAD, COPY, OLD = "ami-0bad0000000000001", "ami-0bad0000000000002", "ami-0000000000000000a"
EU, US = (BAKERY, "eu-west-1"), (BAKERY, "us-east-1")
LATEST = "/bakery/images/base/latest"

CONFIG = f"""
slack: {{channel: C0BAKERY}}
access: {{bakers: ["*"], approvers: [{ALICE}, {BOB}], deployers: [{ALICE}]}}
notifications: {{sns_topic_arns: ["arn:aws:sns:eu-west-1:{BAKERY}:ami-bakery-events"]}}
images:
  base:
    repository: /tmp/base
    pipeline: ami-bakery-base
    region: eu-west-1
    share_with: {{regions: [eu-west-1, us-east-1]}}
  web:
    repository: /tmp/web
    pipeline: ami-bakery-web
    region: eu-west-1
    parent: base
    account_role: arn:aws:iam::{MEMBER}:role/ami-bakery-bot
targets:
  base-canary: {{image: base, auto_scaling_group: base-canary, launch_template: base-canary}}
  base-us: {{image: base, auto_scaling_group: base-us, launch_template: base-us, region: us-east-1}}
  web-prod: {{image: web, auto_scaling_group: web-prod, launch_template: web-prod}}
"""


def bake(request_id: str) -> Bake:
    return Bake(request_id=request_id, image="base", requested_by=ALICE, requested_at="2026-11-01T00:00:00Z",
                reason="", channel="C0BAKERY", pipeline="ami-bakery-base", status=BakeStatus.SUCCEEDED,
                amis=(Ami("eu-west-1", OLD, BAKERY),))  # fmt: skip


@pytest.fixture
def world(tmp_path):
    """Base's old release b-0 (eu-west-1), its new release b-1 in eu-west-1 and its copy in us-east-1; `latest`
    names the new one in eu-west-1. Returns (aws, service, revocations, buttons)."""
    aws = Aws()
    aws.add(owned(OLD, image="base", request_id="b-0000000", created="2026-10-01"))
    aws.add(owned(BAD, image="base", request_id="b-1111111", created="2026-11-20"))
    aws.add(owned(COPY, image="base", request_id="b-1111111", created="2026-11-21", region="us-east-1"))
    aws.parameters[EU] = {LATEST: BAD}
    config = parse_config(CONFIG)
    store = SqliteStore(str(tmp_path / "state.db"))
    revocations = Revocations(store)
    buttons = RolloutButtons(config=config, store=store)
    service = RevokeService(
        config=config, access=Access(config.access, Mock()), revocations=revocations,
        lifecycle_for=aws.lifecycle_for, parameters_for=aws.parameters_for, fleet_for=aws.fleet_for,
        buttons=buttons, bake_of={"b-0000000": bake("b-0000000")}.get, default_region="eu-west-1",
        clock=lambda: NOW,
    )  # fmt: skip
    return aws, service, revocations, buttons


def revoke(service: RevokeService, ami: str = BAD, user: str = ALICE, reason: str = "CVE-2026-1234 in openssl"):
    return service.revoke(user=user, channel="C0OPS", command=Revoke(ami, reason))


def test_a_revocation_records_tags_and_deprecates_every_ami_of_the_bake(world):
    aws, service, revocations, _ = world
    answer = revoke(service)

    assert answer.first and answer.image == "base" and answer.channel == "C0OPS"
    assert {(a.ami_id, a.region) for a in answer.amis} == {(BAD, "eu-west-1"), (COPY, "us-east-1")}
    for ami in (BAD, COPY):  # the copy holds the same content: revoked with it
        assert revocations.get(ami).reason == "CVE-2026-1234 in openssl" and revocations.get(ami).by == ALICE
        assert aws.ami(ami).tags["bakery:revoked"] == "CVE-2026-1234 in openssl"
        assert aws.ami(ami).deprecation_time == "2026-12-01T12:00:00Z"
    assert revocations.get(BAD).request_id == "b-1111111" and revocations.get(COPY).region == "us-east-1"
    assert sorted(answer.tagged) == sorted(answer.deprecated) == sorted([BAD, COPY])
    assert not revocations.is_revoked(OLD) and "bakery:revoked" not in aws.ami(OLD).tags


def test_latest_is_pointed_back_at_the_newest_good_release_where_it_named_the_revoked_ami(world):
    aws, service, _, _ = world
    aws.parameters[US] = {LATEST: "ami-0ffffffffffffffff"}  # names another AMI there: left alone
    answer = revoke(service)

    assert aws.parameters[EU][LATEST] == OLD and aws.parameters[US][LATEST] == "ami-0ffffffffffffffff"
    [moved] = answer.latest
    assert (moved.name, moved.region, moved.was, moved.now) == (LATEST, "eu-west-1", BAD, OLD)
    assert [p for p, (name, _) in aws.named("put_parameter")] == [EU]


def test_latest_is_left_as_it_is_when_no_good_release_remains_and_the_answer_says_so(world):
    aws, service, _, _ = world
    aws.parameters[US] = {LATEST: COPY}  # us-east-1 has only the revoked copy
    answer = revoke(service)

    assert aws.parameters[US][LATEST] == COPY
    assert {(m.region, m.now) for m in answer.latest} == {("eu-west-1", OLD), ("us-east-1", "")}


def test_a_second_revoke_changes_nothing_and_answers_who_revoked_it_when_and_why(world):
    aws, service, revocations, _ = world
    revoke(service)
    writes = [c for c in aws.calls if c[0] in ("tag", "deprecate", "put_parameter")]

    again = revoke(service, COPY, user=BOB, reason="something else")

    assert not again.first and not again.changed
    rev = again.revocation
    assert (rev.ami_id, rev.by, rev.at, rev.reason) == (COPY, ALICE, "2026-12-01T12:00:00Z", "CVE-2026-1234 in openssl")
    assert [c for c in aws.calls if c[0] in ("tag", "deprecate", "put_parameter")] == writes
    assert revocations.get(BAD).by == ALICE


def test_a_second_revoke_finishes_what_aws_refused_the_first_time(world):
    aws, service, _, _ = world
    aws.refuse.add(("tag", US))
    first = revoke(service)
    assert first.first and first.tagged == (BAD,) and "bakery:revoked" not in aws.ami(COPY).tags
    assert any("could not tag and deprecate `" + COPY in p and "UnauthorizedOperation" in p for p in first.problems)

    aws.refuse.clear()
    again = revoke(service, user=BOB)
    assert not again.first and again.changed and again.tagged == (COPY,) and not again.problems
    assert aws.ami(COPY).tags["bakery:revoked"] == "CVE-2026-1234 in openssl"


def test_a_non_approver_is_refused_before_any_aws_call(world):
    aws, service, revocations, _ = world
    with pytest.raises(NotAllowed, match="access.approvers"):
        revoke(service, user=MALLORY)
    assert aws.calls == [] and revocations.all() == []


def test_an_unknown_id_is_refused_after_looking_in_every_account_and_region(world):
    aws, service, revocations, _ = world
    with pytest.raises(NotFound, match="no AMI `ami-0123456789abcdef0` in any account or region the bakery reaches"):
        revoke(service, "ami-0123456789abcdef0")
    assert sorted(p for p, _ in aws.named("owned")) == sorted([EU, US, (MEMBER, "eu-west-1")])
    assert revocations.all() == [] and not aws.named("tag")


def test_an_unknown_id_names_where_the_bakery_could_not_look(world):
    aws, service, _, _ = world
    aws.refuse.add(("owned", (MEMBER, "eu-west-1")))
    with pytest.raises(NotFound, match=r"could not look in eu-west-1 \(account 210987654321\)"):
        revoke(service, "ami-0123456789abcdef0")


@pytest.mark.parametrize("tags", [{"image": None}, {"image": "someone-elses"}])
def test_an_ami_the_bakery_did_not_make_is_refused_and_left_alone(world, tags):
    aws, service, revocations, _ = world
    aws.add(owned("ami-0f0f0f0f0f0f0f0f0", **tags))
    with pytest.raises(BadRequest, match="was not made by the bakery"):
        revoke(service, "ami-0f0f0f0f0f0f0f0f0")
    assert revocations.all() == [] and not aws.named("tag") and not aws.named("deprecate")


def test_a_member_accounts_ami_is_found_and_withdrawn_there(world):
    aws, service, revocations, _ = world
    aws.add(owned("ami-0eb0000000000001", image="web", request_id="b-2222222", account=MEMBER))
    answer = revoke(service, "ami-0eb0000000000001")
    assert answer.image == "web" and answer.amis == (Ami("eu-west-1", "ami-0eb0000000000001", MEMBER),)
    assert [p for p, _ in aws.named("tag")] == [(MEMBER, "eu-west-1")]
    assert revocations.get("ami-0eb0000000000001").account_id == MEMBER


def test_the_answer_lists_each_target_still_on_it_with_a_button_onto_the_good_ami(world):
    aws, service, _, buttons = world
    aws.groups[EU] = {"base-canary": GroupRuns("base-canary", "lt-1", 3, BAD, {BAD: 2, OLD: 1})}
    aws.groups[US] = {"base-us": GroupRuns("base-us", "lt-2", 1, OLD, {COPY: 1})}
    answer = revoke(service)

    canary, us = sorted(answer.still_on, key=lambda s: s.target)
    assert (canary.target, canary.default_ami, canary.instances) == ("base-canary", BAD, ((BAD, 2),))
    assert canary.good_ami == OLD
    assert buttons.lookup(canary.button) == ("b-0000000", "base-canary")  # rolls onto the good AMI's bake
    assert (us.target, us.default_ami, us.instances, us.good_ami, us.button) == ("base-us", "", ((COPY, 1),), "", "")
    assert {p for p, _ in aws.named("runs_of")} == {EU, US}


def test_a_target_not_on_it_is_not_listed(world):
    aws, service, _, _ = world
    aws.groups[EU] = {"base-canary": GroupRuns("base-canary", "lt-1", 3, OLD, {OLD: 2})}
    assert revoke(service).still_on == ()


def test_the_reason_is_cut_safely_to_a_tag_value():
    assert tag_value("a\tb\nc") == "a b c"
    long = tag_value("word " * 80)
    assert len(long) <= 256 and long.endswith("word…")
    assert len(tag_value("x" * 300)) == 256
    assert tag_value("x" * 256) == "x" * 256


def test_a_deprecation_time_a_minute_ahead_counts_as_deprecated_now(world):
    """EC2 stores "now" as the next whole minute (it takes no time in the past): that is deprecated already."""
    aws, service, _, _ = world
    for ami in (BAD, COPY):
        aws.add(replace(aws.ami(ami), deprecation_time="2026-12-01T12:01:00Z"))
    aws.add(replace(aws.ami(OLD), deprecation_time="2027-06-01T00:00:00Z"))  # a sweep's, months ahead
    assert revoke(service).deprecated == ()
    aws.add(replace(aws.ami(BAD), deprecation_time="2027-06-01T00:00:00Z"))
    assert revoke(service, user=BOB).deprecated == (BAD,)
