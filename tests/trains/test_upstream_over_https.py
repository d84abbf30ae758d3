"""Amazon's upstream topic over the signed HTTPS route (`POST /sns`, CONTRACT §5, §8): known by its topic, as on
SQS. Its subscription is confirmed, its notices trigger the check, and each is believed only once its signature
is verified; a topic the configuration does not name is refused either way."""

from __future__ import annotations

import time
import uuid

from tests.trains.test_upstream_e2e import NOTICE, automatic_bakes, released_then_moved

AMAZON = "arn:aws:sns:us-east-1:137112412989:amazon-linux-2023-ami-updates"  # Amazon's own (REFERENCE.md)
STRANGER = "arn:aws:sns:us-east-1:210987654321:amazon-linux-2023-ami-updates"  # same name, another account


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def subscription_confirmation(topic: str) -> dict:
    """As SNS sends it to an HTTPS endpoint that subscribed to `topic` (SNS developer guide's sample)."""
    token = "2336412f37fb687f5d51e6e2425c464de12884ee"
    region = topic.split(":")[3]
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": str(uuid.uuid4()),
        "Token": token,
        "TopicArn": topic,
        "Message": (
            f"You have chosen to subscribe to the topic {topic}.\n"
            "To confirm the subscription, visit the SubscribeURL included in this message."
        ),
        "SubscribeURL": (
            f"https://sns.{region}.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic}&Token={token}"
        ),
        "Timestamp": now(),
    }


def notification(topic: str) -> dict:
    region = topic.split(":")[3]
    return {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic,
        "Subject": "New Amazon Linux 2023 AMI",
        "Message": NOTICE,
        "Timestamp": now(),
        "UnsubscribeURL": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic}:0b1f",
    }


def test_amazons_subscription_confirmation_is_confirmed_when_genuine_and_a_strangers_is_not(bakery_factory):
    bakery, _ = released_then_moved(bakery_factory, AMAZON)
    genuine = subscription_confirmation(AMAZON)

    status, _ = bakery.post_sns(dict(bakery.signer.sign(genuine), Token="tampered"))
    assert status == 403 and bakery_factory.confirmed == []
    status, _ = bakery.post_sns(bakery.signer.sign(subscription_confirmation(STRANGER)))
    assert status == 403 and bakery_factory.confirmed == []

    status, answer = bakery.post_sns(bakery.signer.sign(genuine))

    assert status == 200, answer
    assert bakery_factory.confirmed == [genuine["SubscribeURL"]]
    assert "sns.us-east-1.amazonaws.com" in bakery.signer.fetched[-1]  # the topic's own region signs it
    bakery.wait_idle()
    assert automatic_bakes(bakery) == []  # a subscription message only says hello


def test_amazons_notice_over_https_triggers_the_check_once_verified(bakery_factory):
    bakery, new = released_then_moved(bakery_factory, AMAZON)

    forged = dict(bakery.signer.sign(notification(AMAZON)), Message="tampered")
    status, _ = bakery.post_sns(forged)
    assert status == 403
    bakery.wait_idle()
    assert automatic_bakes(bakery) == []  # unverified: nothing looked at the parameter

    status, answer = bakery.post_sns(bakery.signer.sign(notification(AMAZON)))

    assert status == 200, answer  # a trigger, never a malformed pipeline event
    [bake] = bakery.wait(lambda: automatic_bakes(bakery), what="the check's automatic bake of base")
    assert bake.source_ami == new
