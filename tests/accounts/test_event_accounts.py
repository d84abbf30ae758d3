"""Which image a pipeline event is about: its pipeline, believed only from that image's account (CONTRACT §13)."""

from __future__ import annotations

from bot.config import parse_config

OWN, MEMBER, STRANGER = "123456789012", "210987654321", "999999999999"


def config(notifications: str) -> object:
    return parse_config(
        f"""
slack: {{channel: C0BAKERY}}
notifications: {notifications}
images:
  base:
    repository: codecommit://ami-bakery-base
    pipeline: ami-bakery-base
  web:
    repository: codecommit://ami-bakery-web
    pipeline: ami-bakery-web
    account_role: arn:aws:iam::{MEMBER}:role/ami-bakery-bot
"""
    )


QUEUE = f"{{queue_url: 'https://sqs.eu-west-1.amazonaws.com/{OWN}/ami-bakery-events'}}"
TOPIC = f"{{sns_topic_arns: ['arn:aws:sns:eu-west-1:{OWN}:ami-bakery-events']}}"


def names(found: object) -> str | None:
    return getattr(found, "name", None)


def test_the_bakerys_account_is_its_queues_or_else_its_topics():
    assert config(QUEUE).bakery_account == OWN
    assert config(TOPIC).bakery_account == OWN
    assert config("{}").bakery_account == ""


def test_a_member_images_pipeline_is_its_only_from_its_account():
    c = config(QUEUE)
    assert names(c.image_for_pipeline("ami-bakery-web", MEMBER)) == "web"
    assert c.image_for_pipeline("ami-bakery-web", OWN) is None
    assert c.image_for_pipeline("ami-bakery-web", STRANGER) is None


def test_an_own_images_pipeline_is_its_only_from_the_bakerys_account():
    c = config(QUEUE)
    assert names(c.image_for_pipeline("ami-bakery-base", OWN)) == "base"
    assert c.image_for_pipeline("ami-bakery-base", MEMBER) is None
    assert c.image_for_pipeline("ami-bakery-base", STRANGER) is None


def test_with_the_bakerys_account_unknown_no_member_account_speaks_for_its_images():
    c = config("{}")
    assert names(c.image_for_pipeline("ami-bakery-base", STRANGER)) == "base"
    assert c.image_for_pipeline("ami-bakery-base", MEMBER) is None


def test_a_message_that_names_no_account_is_matched_by_name():
    assert names(config(QUEUE).image_for_pipeline("ami-bakery-web")) == "web"
