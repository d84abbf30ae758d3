"""`bakery check --aws`: every AWS resource the configuration names is looked up, each miss with its key path."""

from __future__ import annotations

import pytest

from bot.adapters.aws.preflight import check_aws
from bot.config import Environment, parse_config
from bot.sandbox.aws.fake_codepipeline import FakeCodePipeline
from tests.fixtures.aws import new_session

CONFIG = """
slack: {{channel: C0BAKERY}}
state: {{backend: dynamodb, table: ami-bakery-state}}
notifications:
  queue_url: {queue_url}
  sns_topic_arns: [{topic_arn}]
images:
  base: {{repository: /tmp/unused-base.git, pipeline: ami-bakery-base, region: eu-west-1}}
targets:
  base-fleet: {{image: base, auto_scaling_group: base-fleet, launch_template: base-fleet}}
"""


@pytest.fixture
def codepipeline(monkeypatch):
    fake = FakeCodePipeline().start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEPIPELINE", fake.endpoint)
    yield fake
    fake.stop()


def config_for(queue_url: str, topic_arn: str):
    return parse_config(CONFIG.format(queue_url=queue_url, topic_arn=topic_arn))


def test_everything_present_reports_nothing(aws_session, codepipeline):
    from bot.state.dynamodb import ensure_table

    codepipeline.add_pipeline("ami-bakery-base")
    queue_url = aws_session.client("sqs").create_queue(QueueName="ami-bakery-events")["QueueUrl"]
    topic_arn = aws_session.client("sns").create_topic(Name="ami-bakery-events")["TopicArn"]
    ensure_table(aws_session.client("dynamodb"), "ami-bakery-state")
    ec2 = aws_session.client("ec2")
    ec2.create_launch_template(LaunchTemplateName="base-fleet", LaunchTemplateData={"ImageId": "ami-12345678"})
    aws_session.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName="base-fleet", LaunchTemplate={"LaunchTemplateName": "base-fleet"},
        MinSize=0, MaxSize=1, AvailabilityZones=["eu-west-1a"],
    )
    problems = check_aws(config_for(queue_url, topic_arn), Environment(aws_region="eu-west-1"), session=aws_session)
    assert problems == []


def test_each_missing_resource_is_named_by_its_key_path(aws_session, codepipeline):
    problems = check_aws(
        config_for(
            "https://sqs.eu-west-1.amazonaws.com/123456789012/missing-queue",
            "arn:aws:sns:eu-west-1:123456789012:missing-topic",
        ),
        Environment(aws_region="eu-west-1"),
        session=new_session("eu-west-1"),
    )
    paths = sorted(p.split(":")[0] for p in problems)
    assert paths == [
        "images.base.pipeline",
        "notifications.queue_url",
        "notifications.sns_topic_arns[0]",
        "state.table",
        "targets.base-fleet.auto_scaling_group",
    ]


def test_an_upstream_parameter_that_does_not_exist_in_the_images_region_is_named(aws_session, codepipeline):
    from dataclasses import replace

    from bot.config.model import UpstreamConfig

    codepipeline.add_pipeline("ami-bakery-base")
    config = config_for("https://sqs.eu-west-1.amazonaws.com/123456789012/q", "arn:aws:sns:eu-west-1:123456789012:t")
    config = replace(config, notifications=replace(config.notifications, queue_url=None, sns_topic_arns=()))
    config = replace(config, targets={}, state=replace(config.state, backend="sqlite"))
    upstream = UpstreamConfig(ssm_parameter="/stand-in/al2023-ami-kernel-default-x86_64")
    config = replace(config, images={"base": replace(config.images["base"], upstream=upstream)})
    env = Environment(aws_region="eu-west-1")

    [problem] = check_aws(config, env, session=aws_session)
    assert problem.startswith("images.base.upstream.ssm_parameter: SSM parameter /stand-in/al2023")
    assert "ParameterNotFound" in problem

    aws_session.client("ssm").put_parameter(Name=upstream.ssm_parameter, Value="ami-0123456789abcdef0", Type="String")
    assert check_aws(config, env, session=aws_session) == []


def test_without_a_region_anywhere_each_key_that_needs_one_is_named_and_nothing_is_called(monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")  # no profile's region either
    config = parse_config(CONFIG.format(queue_url="", topic_arn="").replace(", region: eu-west-1", ""))
    calls: list[str] = []
    session = new_session(region=None)
    session.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))

    problems = check_aws(config, Environment(aws_region=""), session=session)

    assert [p.split(":")[0] for p in problems] == ["images.base.region", "state.table"], problems
    assert "neither is AWS_REGION" in problems[0] and calls == []
