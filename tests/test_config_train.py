"""The release train's configuration keys (CONTRACT §4, §12): parsed with their defaults; each mistake named by
its key path, and nothing else reported with it."""

from __future__ import annotations

import pytest

from bot.config import parse_config
from bot.config.train_keys import parse_duration
from bot.domain.errors import ConfigError

AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
AL2023_TOPIC = "arn:aws:sns:us-east-1:137112412989:amazon-linux-2023-ami-updates"


def config_text(*, base: str = "", web: str = "", target: str = "", notifications: str = "") -> str:
    return (
        "slack: {channel: C0BAKERY}\n"
        + (f"notifications: {{{notifications}}}\n" if notifications else "")
        + "images:\n"
        + f"  base: {{repository: codecommit://base, pipeline: base{', ' + base if base else ''}}}\n"
        + f"  web: {{repository: codecommit://web, pipeline: web, parent: base{', ' + web if web else ''}}}\n"
        + "targets:\n"
        + "  web-prod: {image: web, auto_scaling_group: web-prod, launch_template: web-prod"
        + f"{', ' + target if target else ''}}}\n"
    )


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return info.value.problems


def test_the_train_keys_are_read_with_their_values():
    config = parse_config(
        config_text(
            base=f"upstream: {{ssm_parameter: {AL2023}, check_every: 30m}}",
            web="on_parent_release: bake",
            target="on_release: auto",
            notifications=f"upstream_topic_arns: [{AL2023_TOPIC}]",
        )
    )
    base, web = config.images["base"], config.images["web"]
    assert base.upstream is not None and base.upstream.ssm_parameter == AL2023
    assert base.upstream.check_every == 1800.0
    assert web.on_parent_release == "bake" and web.upstream is None
    assert config.targets["web-prod"].on_release == "auto"
    assert config.notifications.upstream_topic_arns == (AL2023_TOPIC,)


def test_left_out_the_train_keys_ask_and_check_hourly():
    config = parse_config(config_text(base=f"upstream: {{ssm_parameter: {AL2023}}}"))
    assert config.images["base"].upstream is not None and config.images["base"].upstream.check_every == 3600.0
    assert config.images["web"].on_parent_release == "ask"
    assert config.targets["web-prod"].on_release == "ask"
    assert config.notifications.upstream_topic_arns == ()


def test_on_parent_release_on_an_image_without_a_parent_is_an_error():
    assert problems(config_text(base="on_parent_release: bake")) == [
        "images.base.on_parent_release: this image has no parent whose release it could follow"
    ]


def test_upstream_together_with_a_parent_is_an_error():
    assert problems(config_text(web=f"upstream: {{ssm_parameter: {AL2023}}}")) == [
        "images.web.upstream: an image with a parent is baked on its parent's released AMI; "
        "only an image without one follows upstream"
    ]


def test_an_upstream_topic_that_is_no_topic_arn_is_an_error():
    assert problems(config_text(notifications="upstream_topic_arns: [al2023-updates]")) == [
        "notifications.upstream_topic_arns[0]: 'al2023-updates' is not an SNS topic ARN"
    ]


@pytest.mark.parametrize("value", ["90s", "1w", "0h", "h", "1.5h", "12", "-1d"])
def test_a_bad_duration_is_an_error_with_its_key_path(value):
    text = config_text(base=f"upstream: {{ssm_parameter: {AL2023}, check_every: '{value}'}}")
    assert problems(text) == [
        f"images.base.upstream.check_every: {value!r} is not a duration (<n>m, <n>h or <n>d, e.g. 1h)"
    ]


def test_a_duration_written_as_a_number_is_an_error():
    text = config_text(base=f"upstream: {{ssm_parameter: {AL2023}, check_every: 60}}")
    assert problems(text) == ["images.base.upstream.check_every: 60 is not a duration (<n>m, <n>h or <n>d, e.g. 1h)"]


@pytest.mark.parametrize(
    ("where", "text", "problem"),
    [
        ("web", "on_parent_release: always", "images.web.on_parent_release: 'always' is not one of ask, bake, never"),
        ("target", "on_release: yes", "targets.web-prod.on_release: True is not one of ask, auto"),
        ("base", "upstream: {check_every: 1h}", "images.base.upstream.ssm_parameter: required key is missing"),
        (
            "base",
            "upstream: {ssm_parameter: 'not a name'}",
            "images.base.upstream.ssm_parameter: 'not a name' is not an SSM parameter name",
        ),
        (
            "base",
            f"upstream: {{ssm_parameter: {AL2023}, every: 1h}}",
            "images.base.upstream.every: unknown key 'every' — did you mean 'check_every'?",
        ),
        ("base", "upstream: al2023", "images.base.upstream: must be a mapping, not a string"),
    ],
)
def test_other_mistakes_in_the_train_keys_are_named_by_their_path(where, text, problem):
    assert problems(config_text(**{where: text})) == [problem]


def test_durations_are_minutes_hours_or_days():
    assert (parse_duration("5m"), parse_duration("2h"), parse_duration("7d")) == (300.0, 7200.0, 604800.0)
    assert parse_duration("5") is None
