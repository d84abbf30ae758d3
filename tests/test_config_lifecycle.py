"""The fleet and lifecycle keys (CONTRACT §4, §14): their defaults, an image's `lifecycle` overriding the top
level's key by key, and each mistake named by its key path."""

from __future__ import annotations

import pytest

from bot.config import FleetConfig, LifecycleConfig, parse_config
from bot.domain.errors import ConfigError


def config_text(*, top: str = "", base: str = "") -> str:
    return (
        "slack: {channel: C0BAKERY}\n"
        + top
        + "images:\n"
        + f"  base: {{repository: codecommit://base, pipeline: base{', ' + base if base else ''}}}\n"
        + "  web: {repository: codecommit://web, pipeline: web, parent: base}\n"
    )


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return info.value.problems


def test_without_the_keys_the_contracts_defaults_hold():
    config = parse_config(config_text())

    assert config.fleet == FleetConfig(stale_after=7 * 86400)
    assert config.lifecycle == LifecycleConfig(keep_released=5, keep_unreleased_days=7, deprecate_after_days=90)
    assert config.lifecycle.sweep == "daily"
    assert config.images["base"].lifecycle == config.lifecycle


def test_an_images_lifecycle_overrides_the_top_levels_key_by_key():
    top = "fleet: {stale_after: 36h}\nlifecycle: {keep_released: 4, keep_unreleased_days: 2, sweep: off}\n"
    config = parse_config(config_text(top=top, base="lifecycle: {keep_released: 2, deprecate_after_days: 30}"))

    assert config.fleet.stale_after == 36 * 3600
    assert config.images["base"].lifecycle == LifecycleConfig(
        keep_released=2, keep_unreleased_days=2, deprecate_after_days=30, sweep="off"
    )
    assert config.images["web"].lifecycle == LifecycleConfig(
        keep_released=4, keep_unreleased_days=2, deprecate_after_days=90, sweep="off"
    )


@pytest.mark.parametrize(
    ("top", "base", "expected"),
    [
        ("fleet: {stale_after: 7}\n", "", "fleet.stale_after: 7 is not a duration"),
        ("fleet: {stale: 7d}\n", "", "fleet.stale: unknown key 'stale' — did you mean 'stale_after'?"),
        ("lifecycle: {keep_released: 0}\n", "", "lifecycle.keep_released: 0 is out of range (1 to 1000)"),
        ("lifecycle: {keep_released: two}\n", "", "lifecycle.keep_released: must be a whole number, not a string"),
        ("lifecycle: {keep_released: 2.5}\n", "", "lifecycle.keep_released: must be a whole number, not 2.5"),
        ("lifecycle: {keep_unreleased_days: -1}\n", "", "lifecycle.keep_unreleased_days: -1 is out of range"),
        ("lifecycle: {sweep: weekly}\n", "", "lifecycle.sweep: 'weekly' is not one of daily, off"),
        ("", "lifecycle: {keep: 3}", "images.base.lifecycle.keep: unknown key 'keep'"),
        ("", "lifecycle: {deprecate_after_days: true}", "images.base.lifecycle.deprecate_after_days: must be a whole"),
        ("lifecycle: 5\n", "", "lifecycle: must be a mapping, not a number"),
    ],
)
def test_each_mistake_is_named_by_its_key_path_and_nothing_else_is_reported(top, base, expected):
    found = problems(config_text(top=top, base=base))

    assert len(found) == 1 and found[0].startswith(expected), found


@pytest.mark.parametrize("written", ["off", '"off"', "false"])
def test_sweep_off_is_read_however_yaml_spells_it(written):
    assert parse_config(config_text(top=f"lifecycle: {{sweep: {written}}}\n")).lifecycle.sweep == "off"
