"""BAKERY_AMI_KEY_ALIAS (CONTRACT §13): the alias of the bakery's AMI key in every region, which a copied AMI is
encrypted with; ami-key.yaml's alias/<NamePrefix>-ami, so an operator with another NamePrefix sets it."""

from __future__ import annotations

from bot.config import Environment

TOKEN = {"SLACK_BOT_TOKEN": "xoxb-1"}


def alias_problems(value: str) -> list[str]:
    env = Environment.from_environ({**TOKEN, "BAKERY_AMI_KEY_ALIAS": value})
    return [p for p in env.problems_for("socket") if p.startswith("BAKERY_AMI_KEY_ALIAS")]


def test_the_default_is_the_alias_of_the_default_name_prefix_and_another_one_is_read():
    assert Environment.from_environ({}).ami_key_alias == "alias/ami-bakery-ami"
    assert Environment.from_environ({"BAKERY_AMI_KEY_ALIAS": "alias/acme-ami"}).ami_key_alias == "alias/acme-ami"
    assert alias_problems("alias/acme-ami") == []


def test_a_key_id_or_arn_is_refused_since_a_key_names_one_region_only():
    key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    [problem] = alias_problems(key)
    assert "is not a KMS alias like alias/ami-bakery-ami" in problem and "in each region" in problem
    assert alias_problems("acme-ami") and alias_problems("alias/") and alias_problems("alias/a b")
