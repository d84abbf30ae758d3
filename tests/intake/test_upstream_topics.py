"""A message from an upstream topic is known by its topic first: a trigger, never a pipeline event nor a DLQ case."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.aws.ec2_images import Ec2Images
from bot.adapters.aws.sqs import PollResult, SqsConsumer
from bot.adapters.aws.ssm_parameters import SsmParameters
from bot.config.model import UpstreamConfig
from bot.domain.errors import BadMessage, ForgedMessage
from bot.intake.service import Intake
from bot.intake.upstream import upstream_message
from bot.sandbox.aws.events import pipeline_event, sns_envelope
from bot.sandbox.aws.seed import register_ami
from bot.state.sqlite import SqliteStore
from bot.trains.upstream import Outcome, UpstreamWatch
from bot.wiring.adapters import Clients
from tests.trains.test_upstream_watch import BASE, FakeAuto, FakeBakes, bake, config

OURS = "arn:aws:sns:eu-west-1:123456789012:ami-bakery-events"
AMAZON = "arn:aws:sns:us-east-1:137112412989:amazon-linux-2023-ami-updates"
# Amazon's release notice is not ours to read: a body of its own (here, as it may be, not even JSON).
AMAZON_BODY = "A new Amazon Linux 2023 AMI is available: al2023-ami-2023.6.20261201.0-kernel-6.1-x86_64"


@pytest.fixture
def intake(tmp_path: Path):
    applied: list = []
    triggered: list[str] = []
    store = SqliteStore(tmp_path / "state.db")
    intake = Intake(
        store=store,
        apply=applied.append,
        topic_arns=[OURS],
        upstream_topic_arns=[AMAZON],
        on_upstream=triggered.append,
    )
    yield intake, applied, triggered
    store.close()


def event() -> dict:
    execution_id = "11111111-1111-1111-1111-111111111111"
    return pipeline_event(pipeline="ami-bakery-base", execution_id=execution_id, state="STARTED")


def test_a_message_from_an_upstream_topic_triggers_the_checks_whatever_its_body(intake):
    handle, applied, triggered = intake

    assert handle.handle(json.dumps(sns_envelope(AMAZON_BODY, topic_arn=AMAZON))) == 0
    assert triggered == [AMAZON] and applied == []


def test_an_upstream_message_shaped_like_a_pipeline_event_is_still_only_a_trigger(intake):
    handle, applied, triggered = intake

    handle.handle(json.dumps(sns_envelope(event(), topic_arn=AMAZON)))

    assert triggered == [AMAZON] and applied == []


def test_an_upstream_subscription_message_triggers_nothing_and_is_not_refused(intake):
    handle, applied, triggered = intake
    confirmation = {**sns_envelope("You chose to subscribe", topic_arn=AMAZON), "Type": "SubscriptionConfirmation"}

    assert handle.handle(json.dumps(confirmation)) == 0
    assert triggered == [] and applied == []


def test_our_own_topics_messages_are_read_as_before(intake):
    handle, applied, triggered = intake

    assert handle.handle(json.dumps(sns_envelope(event(), topic_arn=OURS))) == 1
    assert triggered == [] and len(applied) == 1


def test_another_topic_is_still_refused(intake):
    handle, _, triggered = intake
    stranger = "arn:aws:sns:us-east-1:210987654321:amazon-linux-2023-ami-updates"

    with pytest.raises(ForgedMessage):
        handle.handle(json.dumps(sns_envelope(event(), topic_arn=stranger)))
    assert triggered == []


def test_without_upstream_topics_an_amazon_body_is_malformed_as_before(tmp_path: Path):
    store = SqliteStore(tmp_path / "state.db")
    intake = Intake(store=store, apply=lambda note: None)
    with pytest.raises(BadMessage):
        intake.handle(json.dumps(sns_envelope(AMAZON_BODY, topic_arn=AMAZON)))
    store.close()


def test_through_sns_and_sqs_an_upstream_release_opens_one_bake_and_leaves_the_queue_empty(aws_session, tmp_path):
    """Amazon's topic (here a stand-in in moto) → SQS → the intake → the watch, on moto's SSM and EC2."""
    sqs, sns = aws_session.client("sqs"), aws_session.client("sns", region_name="us-east-1")
    ec2, ssm = aws_session.client("ec2"), aws_session.client("ssm")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName="events",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="amazon-linux-2023-ami-updates")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    old = register_ami(ec2, "al2023-old", {})
    new = register_ami(ec2, "al2023-new", {})
    # moto refuses to write /aws/… parameters, as AWS does: the stand-in of the public one lives elsewhere.
    base = replace(BASE, upstream=UpstreamConfig(ssm_parameter="/stand-in/al2023-ami-kernel-default-x86_64"))
    ssm.put_parameter(Name=base.upstream.ssm_parameter, Value=new, Type="String")
    bakes, auto = FakeBakes(), FakeAuto()
    bakes.add(bake("b-rel001", at="2026-11-01T09:00:00Z", source=old), latest=True)
    clients = Clients(aws_session, None)  # asked for an image: its region (and account, §13)
    watch = UpstreamWatch(
        config=config(base),
        bakes=bakes,
        auto=auto,
        parameters_for=lambda where: SsmParameters(clients.of("ssm", where)),
        images_for=lambda where: Ec2Images(clients.of("ec2", where)),
    )
    checks: list = []
    store = SqliteStore(tmp_path / "state.db")
    intake = Intake(
        store=store,
        apply=lambda note: None,
        topic_arns=[OURS],
        upstream_topic_arns=[topic],
        on_upstream=lambda arn: checks.extend(watch.check_all(arn)),
    )
    sns.publish(TopicArn=topic, Message=AMAZON_BODY)
    sns.publish(TopicArn=topic, Message=AMAZON_BODY)  # Amazon may say it twice

    consumer = SqsConsumer(sqs, queue, intake.handle, wait_seconds=0)
    result = consumer.poll_once()

    assert result == PollResult(received=2, handled=2, failed=0)
    assert [c.outcome for c in checks] == [Outcome.OPENED, Outcome.NOT_OPENED]
    assert [(image, ami) for image, ami, _ in auto.opened] == [("base", new)]
    assert consumer.poll_once().received == 0
    assert sqs.receive_message(QueueUrl=dlq).get("Messages") is None
    store.close()


# --- any body: recognised by its topic, or left to the ordinary reading; never an exception --------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["Type", "TopicArn", "x"]), inner),
    max_leaves=10,
)


@given(st.binary(max_size=200) | st.text(max_size=200) | JSON.map(json.dumps))
def test_any_body_is_recognised_or_left_alone_never_raising(body):
    found = upstream_message(body, [AMAZON])
    assert found is None or (found.topic_arn == AMAZON and isinstance(found.sns_type, str))


@given(st.text(max_size=40), JSON)
def test_an_envelope_of_an_upstream_topic_is_recognised_whatever_else_it_holds(sns_type, message):
    body = json.dumps({"Type": sns_type, "TopicArn": AMAZON, "Message": message})

    found = upstream_message(body, [AMAZON])

    assert found is not None and found.triggers == (sns_type == "Notification")
