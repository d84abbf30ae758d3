"""The upstream watch on AWS: the queue may hear Amazon's release topic, and the bot may read the public parameter."""

from __future__ import annotations

from tests.infra.cfn import ACCOUNT, AL2023, PREFIX, REGION, Resolver, render, role_statements

AMAZON_TOPIC = "arn:aws:sns:us-east-1:137112412989:amazon-linux-2023-ami-updates"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{PREFIX}-events"


def queue_policy(templates, **parameters: str) -> dict:
    policy = render(templates, "notifications", **parameters)["QueuePolicy"]["Properties"]["PolicyDocument"]
    # The queue's ARN as CloudFormation gives it (the renderer leaves !GetAtt of a queue as a placeholder).
    for statement in policy["Statement"]:
        statement["Resource"] = QUEUE_ARN
    return policy


def sns_may_deliver(iam, policy: dict, topic: str) -> bool:
    decision = iam.decide(
        [],
        "sqs:SendMessage",
        QUEUE_ARN,
        principal="sns.amazonaws.com",
        context={"aws:SourceArn": topic, "aws:SecureTransport": "true"},
        resource_policy=policy,
    )
    return decision == "Allowed"


def test_the_queue_hears_amazons_release_topic_when_it_is_named(templates, iam):
    policy = queue_policy(templates, UpstreamTopicArn=AMAZON_TOPIC)

    assert sns_may_deliver(iam, policy, AMAZON_TOPIC)
    assert not sns_may_deliver(iam, policy, "arn:aws:sns:us-east-1:210987654321:amazon-linux-2023-ami-updates")


def test_without_an_upstream_topic_the_queue_hears_only_the_bakerys(templates, iam):
    policy = queue_policy(templates)

    assert not sns_may_deliver(iam, policy, AMAZON_TOPIC)
    assert not Resolver(templates["notifications"], {}).conditions["HasUpstreamTopic"]


def test_the_upstream_subscription_is_enveloped_and_made_in_the_topics_region(templates):
    template = templates["notifications"]
    subscription = template["Resources"]["UpstreamSubscription"]
    props = render(templates, "notifications", UpstreamTopicArn=AMAZON_TOPIC)["UpstreamSubscription"]["Properties"]

    assert subscription["Condition"] == "HasUpstreamTopic"
    assert Resolver(template, {"UpstreamTopicArn": AMAZON_TOPIC}).conditions["HasUpstreamTopic"]
    assert props["TopicArn"] == AMAZON_TOPIC and props["Protocol"] == "sqs"
    assert props["RawMessageDelivery"] is False  # the bot knows the notice by the envelope's TopicArn
    # Fn::Select 3 of the ARN split on ":" is its region, us-east-1 for Amazon's topic.
    select = subscription["Properties"]["Region"]["Fn::Select"]
    assert select[0] == 3 and AMAZON_TOPIC.split(":")[select[0]] == "us-east-1"


def test_the_bot_may_read_the_public_upstream_parameter_in_any_region_and_nothing_private(templates, iam):
    role = role_statements(templates, "bot-role", "TaskRole")

    for region in (REGION, "us-east-1"):
        assert iam.allowed(role, "ssm:GetParameter", f"arn:aws:ssm:{region}::parameter{AL2023}"), region
    assert not iam.allowed(role, "ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/bakery/secrets")
    assert not iam.allowed(role, "ssm:PutParameter", f"arn:aws:ssm:{REGION}::parameter{AL2023}")
