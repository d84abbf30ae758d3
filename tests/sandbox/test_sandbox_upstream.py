"""The sandbox's upstream: its configuration turns the train on, each image starts released, a release is Amazon's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.bakes.images import image_summary
from bot.bakes.record import BAKE, Bake
from bot.config import parse_config
from bot.config.model import ShareWith
from bot.domain.causes import BAKERY_USER
from bot.sandbox import config as sandbox_config
from bot.sandbox.aws import seed, upstream
from bot.sandbox.aws.wire import AccountSession
from bot.sandbox.config import MEMBER_ACCOUNT
from bot.state.sqlite import SqliteStore
from bot.trains.upstream import newest_released
from tests.fixtures.aws import ACCOUNT, REGION

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/ami-bakery-events"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ami-bakery-events"
UPSTREAM_TOPIC = f"arn:aws:sns:eu-west-1:123456789012:{upstream.UPSTREAM_TOPIC_NAME}"


def sandbox_configuration(tmp_path: Path, **upstream_keys: str) -> sandbox_config.SandboxConfig:
    example = sandbox_config.read_example(ROOT / "bakery.example.yaml")
    state = tmp_path / "s.db"
    doc = sandbox_config.derive(example, queue_url=QUEUE, topic_arn=TOPIC, state_path=state, **upstream_keys)
    return sandbox_config.write(doc, tmp_path / "bakery.yaml")


def test_the_sandboxs_own_configuration_runs_the_train_by_itself(tmp_path):
    config = sandbox_configuration(
        tmp_path, upstream_topic_arn=UPSTREAM_TOPIC, upstream_parameter=upstream.UPSTREAM_PARAMETER
    ).config

    assert config.images["base"].upstream.ssm_parameter == upstream.UPSTREAM_PARAMETER
    assert config.images["web"].upstream is None and config.images["web"].on_parent_release == "bake"
    assert config.targets["web-prod"].on_release == "auto"
    assert config.notifications.upstream_topic_arns == (UPSTREAM_TOPIC,)


def test_the_example_itself_asks_everywhere_and_follows_no_upstream(tmp_path):
    config = sandbox_configuration(tmp_path).config

    assert all(image.upstream is None for image in config.images.values())
    assert config.images["web"].on_parent_release == "ask" and config.targets["web-prod"].on_release == "ask"
    assert config.notifications.upstream_topic_arns == ()


def test_the_sandboxs_configuration_puts_web_in_the_member_account_and_base_shares_with_it(tmp_path):
    config = sandbox_configuration(tmp_path).config
    example = parse_config((ROOT / "bakery.example.yaml").read_text(encoding="utf-8"))

    assert config.images["web"].account_role == f"arn:aws:iam::{MEMBER_ACCOUNT}:role/ami-bakery-bot"
    assert config.images["web"].account == MEMBER_ACCOUNT and config.images["base"].account == ""
    assert config.images["base"].share_with == ShareWith(accounts=(MEMBER_ACCOUNT,), regions=())  # no copy to wait for
    assert config.images["web"].share_with is None
    # What a user copies stays in one account, sharing with nobody.
    assert all(i.account_role is None and i.share_with is None for i in example.images.values())


@pytest.fixture
def seeded(aws_session, tmp_path):
    """The sandbox's AWS as it starts: events, the stand-in upstream topic, its first AMI, the train's seeds."""
    events = seed.seed_events(aws_session, REGION)
    topic = upstream.seed_upstream_topic(aws_session, REGION, events.queue_url)
    config = sandbox_configuration(tmp_path, upstream_topic_arn=topic, upstream_parameter=upstream.UPSTREAM_PARAMETER)
    fleet = seed.seed_fleet(aws_session, config.config, REGION, bakery_account=ACCOUNT)
    commits = {"base": "a" * 40, "web": "b" * 40}
    upstream.seed_train(aws_session, config.config, tmp_path / "state.db", fleet, commits, REGION)
    return config.config, events, topic, fleet, tmp_path / "state.db"


def queued(aws_session, queue_url: str) -> list[dict]:
    messages = aws_session.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_each_image_starts_with_one_released_bake_on_the_parameters_value(aws_session, seeded):
    config, _, _, fleet, state = seeded
    value = aws_session.client("ssm").get_parameter(Name=upstream.UPSTREAM_PARAMETER)["Parameter"]["Value"]
    store = SqliteStore(state)
    try:
        bakes = {name: newest_released(_Book(store), name) for name in config.images}
        for name, bake in bakes.items():
            assert bake is not None, name
            assert bake.released and bake.requested_by == BAKERY_USER and bake.inputs == ""
            assert bake.settled and not bake.message_ts  # no message is posted for it
            assert image_summary(store, name)["amis"][0]["ami_id"] == bake.amis[0].ami_id  # a child's parent pin
        base, web = bakes["base"], bakes["web"]
        assert base.source_ami == value == fleet.upstream[REGION]
        assert [(a.ami_id, a.account_id) for a in base.amis] == [(value, ACCOUNT)]
        # web lives in the member account (§9): its released AMI is there, baked on base's.
        assert web.source_ami == value and [a.account_id for a in web.amis] == [MEMBER_ACCOUNT]
    finally:
        store.close()


def test_a_seeded_bakery_ami_names_its_seeded_bake_as_every_bake_s_ami_does(aws_session, seeded):
    # /bake fleet and /bake revoke offer a Roll out button onto an AMI through the bake its bakery:request-id
    # names: without it, revoking web's first bake offered no button onto the seeded release it falls back to.
    config, _, _, fleet, state = seeded
    store = SqliteStore(state)
    try:
        web = newest_released(_Book(store), "web")
    finally:
        store.close()
    member = AccountSession(aws_session, MEMBER_ACCOUNT).client("ec2")
    tags = {
        t["Key"]: t["Value"] for t in member.describe_images(ImageIds=[fleet.images["web"].ami_id])["Images"][0]["Tags"]
    }
    assert tags["bakery:request-id"] == web.request_id and tags["bakery:requested-by"] == BAKERY_USER
    # base starts as the upstream AMI itself, which is Amazon's: it gets no bakery tags.
    upstream_tags = aws_session.client("ec2").describe_images(ImageIds=[fleet.images["base"].ami_id])["Images"][0]
    assert not any(t["Key"].startswith("bakery:request") for t in upstream_tags.get("Tags", []))


def test_the_member_image_s_seeded_ami_parameter_and_target_are_in_its_account(aws_session, seeded):
    _, _, _, fleet, _ = seeded
    web, base = fleet.images["web"], fleet.images["base"]
    member = AccountSession(aws_session, MEMBER_ACCOUNT)

    def owned(ec2) -> list[tuple[str, str]]:
        return [(i["ImageId"], i["OwnerId"]) for i in ec2.describe_images(Owners=["self"])["Images"]]

    assert owned(member.client("ec2")) == [(web.ami_id, MEMBER_ACCOUNT)]
    assert owned(aws_session.client("ec2")) == [(base.ami_id, ACCOUNT)]  # the bakery's account: base's only
    latest = member.client("ssm").get_parameter(Name="/bakery/images/web/latest")["Parameter"]["Value"]
    template = member.client("ec2").describe_launch_template_versions(LaunchTemplateName="web-prod")
    assert latest == web.ami_id == template["LaunchTemplateVersions"][0]["LaunchTemplateData"]["ImageId"]
    assert member.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=["web-prod"])[
        "AutoScalingGroups"
    ]
    assert not aws_session.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=["web-prod"])[
        "AutoScalingGroups"
    ]
    # base's AMI is launchable there, as a released base's distribution would have left it.
    granted = aws_session.client("ec2").describe_image_attribute(ImageId=base.ami_id, Attribute="launchPermission")
    assert granted["LaunchPermissions"] == [{"UserId": MEMBER_ACCOUNT}]


def test_an_upstream_release_is_a_new_ami_the_parameter_moved_and_a_notice_on_the_topic(aws_session, seeded):
    config, events, topic, fleet, _ = seeded
    old = fleet.upstream[REGION]
    releases = upstream.UpstreamReleases(aws_session, config, topic, REGION)

    status, answer = releases.api({"image": "base"})

    assert status == 200 and answer["ami_id"] != old
    ami = aws_session.client("ec2").describe_images(ImageIds=[answer["ami_id"]])["Images"][0]
    assert ami["State"] == "available"
    value = aws_session.client("ssm").get_parameter(Name=upstream.UPSTREAM_PARAMETER)["Parameter"]["Value"]
    assert value == answer["ami_id"]
    [notice] = queued(aws_session, events.queue_url)
    assert notice["Type"] == "Notification" and notice["TopicArn"] == topic  # enveloped: the bot knows the topic


def test_two_releases_are_two_new_amis(aws_session, seeded):
    config, _, topic, _, _ = seeded
    releases = upstream.UpstreamReleases(aws_session, config, topic, REGION)

    assert releases.release("base") != releases.release("base")


def test_a_release_for_an_image_without_upstream_is_refused_and_changes_nothing(aws_session, seeded):
    config, events, topic, fleet, _ = seeded
    old = fleet.upstream[REGION]
    releases = upstream.UpstreamReleases(aws_session, config, topic, REGION)

    for body, said in [
        ({"image": "web"}, "has no upstream"),
        ({"image": "nope"}, "there is no image 'nope'"),
        ({}, "must name an image"),
    ]:
        status, answer = releases.api(body)
        assert status == 400 and said in answer["error"], body
    value = aws_session.client("ssm").get_parameter(Name=upstream.UPSTREAM_PARAMETER)["Parameter"]["Value"]
    assert value == old and queued(aws_session, events.queue_url) == []


class _Book:
    """The bake records of a store, read as the upstream watch reads them."""

    def __init__(self, store: SqliteStore):
        self._store = store

    def get(self, request_id: str) -> Bake | None:
        rec = self._store.get(BAKE, request_id)
        return Bake.from_doc(rec.doc) if rec else None

    def in_flight(self) -> list[Bake]:
        return []

    def image_summary(self, image: str) -> dict:
        return image_summary(self._store, image)
