"""`images.<name>.account_role`, `images.<name>.share_with` (CONTRACT §4, §13) and BAKERY_EXTERNAL_ID: accepted
when right, and every mistake one problem with its key path."""

from __future__ import annotations

import pytest

from bot.config import Environment, parse_config
from bot.config.model import ShareWith
from bot.domain.errors import ConfigError

HEAD = """
slack: {channel: C0BAKERY}
images:
  base:
    repository: codecommit://ami-bakery-base
    pipeline: ami-bakery-base
"""


def with_keys(keys: str) -> str:
    return HEAD + "".join(f"    {line}\n" for line in keys.strip().splitlines())


def problems(keys: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(with_keys(keys))
    return info.value.problems


def test_an_image_in_another_account_and_where_it_is_shared():
    base = parse_config(
        with_keys(
            """
account_role: arn:aws:iam::210987654321:role/teams/ami-bakery-bot
share_with: {accounts: ["210987654321", "012345678901"], regions: [eu-west-1, us-east-1]}
"""
        )
    ).images["base"]
    assert base.account_role == "arn:aws:iam::210987654321:role/teams/ami-bakery-bot"
    assert base.share_with == ShareWith(accounts=("210987654321", "012345678901"), regions=("eu-west-1", "us-east-1"))


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_a_role_in_each_partition_is_accepted(partition):
    arn = f"arn:{partition}:iam::210987654321:role/ami-bakery-bot"
    assert parse_config(with_keys(f"account_role: {arn}")).images["base"].account_role == arn


def test_both_keys_are_optional_and_share_with_s_lists_too():
    base = parse_config(with_keys("share_with: {regions: [us-east-1]}")).images["base"]
    assert base.account_role is None and base.share_with == ShareWith(accounts=(), regions=("us-east-1",))
    assert parse_config(HEAD).images["base"].share_with is None


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:iam::21098765432:role/x",  # 11 digits
        "arn:aws:iam::210987654321:user/x",  # a user, not a role
        "arn:aws-iso:iam::210987654321:role/x",  # a partition the bakery does not know
        "arn:aws:sts::210987654321:assumed-role/x/y",
        "210987654321",
    ],
)
def test_what_is_not_a_role_arn_is_refused_with_its_key_path(value):
    [problem] = problems(f"account_role: {value!r}")
    assert problem.startswith(f"images.base.account_role: {value!r} is not an IAM role ARN")


def test_a_misspelt_key_names_the_one_it_resembles():
    assert problems("acount_role: arn:aws:iam::210987654321:role/x") == [
        "images.base.acount_role: unknown key 'acount_role' — did you mean 'account_role'?"
    ]
    assert problems("share_with: {acounts: []}") == [
        "images.base.share_with.acounts: unknown key 'acounts' — did you mean 'accounts'?"
    ]


def test_an_unquoted_account_id_says_to_quote_it():
    # YAML reads unquoted digits as a number, and 012345670123 (octal digits after a zero) as another number.
    assert problems("share_with: {accounts: [210987654321, 012345670123]}") == [
        'images.base.share_with.accounts[0]: 210987654321 is a number; quote the account id ("210987654321"):'
        " YAML reads unquoted digits as a number",
        "images.base.share_with.accounts[1]: 1402433619 is a number; quote the account id:"
        " YAML reads unquoted digits as a number",
    ]


def test_duplicates_and_bad_items_are_each_reported():
    assert problems(
        'share_with: {accounts: ["210987654321", "2109", "210987654321"], regions: [eu-west-1, EU, eu-west-1]}'
    ) == [
        "images.base.share_with.accounts[1]: '2109' is not a 12-digit AWS account id (quoted)",
        "images.base.share_with.accounts[2]: '210987654321' is listed twice",
        "images.base.share_with.regions[1]: 'EU' is not an AWS region",
        "images.base.share_with.regions[2]: 'eu-west-1' is listed twice",
    ]
    assert problems("share_with: [210987654321]") == ["images.base.share_with: must be a mapping, not a list"]
    assert problems("share_with: {regions: eu-west-1}") == [
        "images.base.share_with.regions: must be a list, not a string"
    ]


def test_the_external_id_is_read_checked_and_never_shown():
    env = Environment.from_environ({"BAKERY_EXTERNAL_ID": "s3cr3t-ext-id"})
    assert env.external_id == "s3cr3t-ext-id"
    assert "s3cr3t" not in repr(env) and "external_id=set" in repr(env)
    assert Environment.from_environ({}).external_id == ""
    bad = Environment.from_environ({"SLACK_BOT_TOKEN": "xoxb-1", "BAKERY_EXTERNAL_ID": "x"})
    [problem] = [p for p in bad.problems_for("socket") if p.startswith("BAKERY_EXTERNAL_ID")]
    assert "'x'" not in problem and "2 to 1224 characters" in problem
