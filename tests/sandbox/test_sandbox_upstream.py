"""The sandbox's upstream: its configuration turns the train on, each image starts released, a release is Amazon's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.bakes.images import image_summary
from bot.bakes.record import BAKE, Bake
from bot.domain.causes import BAKERY_USER
from bot.sandbox import config as sandbox_config
from bot.sandbox.aws import seed, upstream
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


@pytest.fixture
def seeded(aws_session, tmp_path):
    """The sandbox's AWS as it starts: events, the stand-in upstream topic, its first AMI, the train's seeds."""
    events = seed.seed_events(aws_session, REGION)
    topic = upstream.seed_upstream_topic(aws_session, REGION, events.queue_url)
    config = sandbox_configuration(tmp_path, upstream_topic_arn=topic, upstream_parameter=upstream.UPSTREAM_PARAMETER)
    amis = {REGION: seed.register_ami(aws_session.client("ec2"), seed.UPSTREAM_AMI_NAME, {})}  # as seed_fleet does
    commits = {"base": "a" * 40, "web": "b" * 40}
    upstream.seed_train(aws_session, config.config, tmp_path / "state.db", amis, commits, REGION)
    return config.config, events, topic, amis[REGION], tmp_path / "state.db"


def queued(aws_session, queue_url: str) -> list[dict]:
    messages = aws_session.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_each_image_starts_with_one_released_bake_on_the_parameters_value(aws_session, seeded):
    config, _, _, ami, state = seeded
    value = aws_session.client("ssm").get_parameter(Name=upstream.UPSTREAM_PARAMETER)["Parameter"]["Value"]
    store = SqliteStore(state)
    try:
        for name in config.images:
            bake = newest_released(_Book(store), name)
            assert bake is not None, name
            assert bake.released and bake.requested_by == BAKERY_USER and bake.inputs == ""
            assert bake.source_ami == value == ami and [(a.ami_id, a.account_id) for a in bake.amis] == [(ami, ACCOUNT)]
            assert bake.settled and not bake.message_ts  # no message is posted for it
            assert image_summary(store, name)["amis"][0]["ami_id"] == ami  # a child's parent pin
    finally:
        store.close()


def test_an_upstream_release_is_a_new_ami_the_parameter_moved_and_a_notice_on_the_topic(aws_session, seeded):
    config, events, topic, old, _ = seeded
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
    config, events, topic, old, _ = seeded
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
