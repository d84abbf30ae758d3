"""The configuration file: the example is valid, and every problem is reported with its key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Environment, load_config, parse_config
from bot.domain.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent

MINIMAL = """
slack: {channel: C0BAKERY}
images:
  base: {repository: codecommit://ami-bakery-base, pipeline: ami-bakery-base}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return info.value.problems


def test_the_example_configuration_is_valid():
    config = load_config(ROOT / "bakery.example.yaml")
    assert set(config.images) == {"base", "web"}
    assert config.images["web"].parent == "base"
    assert config.images["web"].channel == "C0BAKERY"  # defaults to slack.channel
    assert config.targets["web-prod"].approval is True


def test_a_minimal_configuration_gets_safe_defaults():
    config = parse_config(MINIMAL)
    assert config.state.backend == "sqlite"
    assert config.images["base"].branch == "main"
    # Refuse by default: nobody may bake, approve or deploy unless named.
    assert config.access.bakers == () and config.access.approvers == () and config.access.deployers == ()


def test_an_unknown_key_is_reported_with_its_path():
    assert problems(MINIMAL + "  \n" + "colour: blue\n") == [
        "colour: unknown key (expected one of: access, fleet, images, lifecycle, notifications, slack, state, targets)"
    ]
    assert any(
        p.startswith("images.base.colour: unknown key")
        for p in problems(MINIMAL.replace("pipeline: ami-bakery-base}", "pipeline: ami-bakery-base, colour: blue}"))
    )


@pytest.mark.parametrize(
    "text, problem",
    [
        (MINIMAL + "acess: {bakers: ['*']}\n", "acess: unknown key 'acess' — did you mean 'access'?"),
        (MINIMAL + "access: {aprovers: [S0PLATFORM]}\n",
         "access.aprovers: unknown key 'aprovers' — did you mean 'approvers'?"),
        (MINIMAL.replace("C0BAKERY}", "C0BAKERY, chanel: C1}"),
         "slack.chanel: unknown key 'chanel' — did you mean 'channel'?"),
        (MINIMAL + "state: {backnd: sqlite}\n", "state.backnd: unknown key 'backnd' — did you mean 'backend'?"),
        (MINIMAL + "notifications: {queue: x}\n",
         "notifications.queue: unknown key 'queue' — did you mean 'queue_url'?"),
        (MINIMAL.replace("pipeline: ami-bakery-base}", "pipeline: ami-bakery-base, parnt: x}"),
         "images.base.parnt: unknown key 'parnt' — did you mean 'parent'?"),
        (MINIMAL + "targets:\n  t: {image: base, auto_scaling_group: g, launch_template: lt-web, aproval: true}\n",
         "targets.t.aproval: unknown key 'aproval' — did you mean 'approval'?"),
    ],
)  # fmt: skip
def test_an_unknown_key_suggests_the_nearest_known_one_at_every_level(text, problem):
    assert problems(text) == [problem]


def test_an_empty_string_is_called_so():
    assert problems(MINIMAL.replace("pipeline: ami-bakery-base}", "pipeline: ami-bakery-base, parent: ''}")) == [
        "images.base.parent: must be a non-empty string, not an empty string"
    ]


def test_missing_required_keys_are_reported():
    found = problems("slack: {}\nimages:\n  base: {branch: main}\n")
    assert "slack.channel: required key is missing" in found
    assert "images.base.repository: required key is missing" in found
    assert "images.base.pipeline: required key is missing" in found


def test_a_parent_that_names_nothing_is_an_error():
    found = problems(MINIMAL + "  web: {repository: /tmp/web, pipeline: web, parent: bsae}\n")
    assert found == ["images.web.parent: names no image ('bsae') — did you mean 'base'? The images are base, web"]


def test_a_parent_far_from_every_image_lists_the_images():
    found = problems(MINIMAL + "  web: {repository: /tmp/web, pipeline: web, parent: ubuntu}\n")
    assert found == ["images.web.parent: names no image ('ubuntu'); the images are base, web"]


def test_a_parent_cycle_is_an_error():
    found = problems(
        "slack: {channel: C0BAKERY}\nimages:\n"
        "  a: {repository: /r/a, pipeline: a, parent: c}\n"
        "  b: {repository: /r/b, pipeline: b, parent: a}\n"
        "  c: {repository: /r/c, pipeline: c, parent: b}\n"
    )
    assert len(found) == 1 and "parent cycle" in found[0]


def test_a_target_naming_no_image_is_an_error():
    found = problems(MINIMAL + "targets:\n  t: {image: web, auto_scaling_group: g, launch_template: lt-web}\n")
    assert found == ["targets.t.image: names no image ('web'); the images are base"]


def test_every_problem_is_reported_at_once():
    found = problems(
        "slack: {channel: general}\naccess: {bakers: [alice]}\nstate: {backend: redis}\n"
        "images:\n  Base: {repository: r, pipeline: p}\n"
    )
    assert len(found) == 4
    assert any(p.startswith("slack.channel:") for p in found)
    assert any(p.startswith("access.bakers[0]:") for p in found)
    assert any(p.startswith("state.backend:") for p in found)
    assert any(p.startswith("images.Base:") for p in found)


@pytest.mark.parametrize("name", ["status", "help", "gc"])
def test_an_image_named_as_a_bake_subcommand_is_refused(name):
    found = problems(MINIMAL + f"  {name}: {{repository: /srv/x.git, pipeline: x}}\n")
    assert found == [f"images.{name}: {name!r} is a /bake subcommand; choose another name"]


@pytest.mark.parametrize("name", ["b-7f3k2q", "r-web", "t-train"])
def test_a_target_named_like_a_record_id_is_refused(name):
    found = problems(MINIMAL + f"targets:\n  {name}: {{image: base, auto_scaling_group: g, launch_template: lt-web}}\n")
    assert found == [f"targets.{name}: {name!r} looks like a record id (b-…, r-…, t-…, h-…); choose another name"]


def test_a_required_key_left_empty_is_reported_not_silently_refused():
    found = problems("slack: {channel: }\nimages:\n  base: {repository: , pipeline: p}\n")
    assert found == ["slack.channel: required key has no value", "images.base.repository: required key has no value"]


def test_an_id_with_a_newline_after_it_is_refused():
    found = problems(MINIMAL.replace("{channel: C0BAKERY}", '{channel: "C0BAKERY\\n"}'))
    assert found == ["slack.channel: 'C0BAKERY\\n' is not a Slack channel id (C… or G…)"]


def test_a_region_written_with_digits_of_another_script_is_refused():
    found = problems(MINIMAL.replace("pipeline: ami-bakery-base}", "pipeline: p, region: eu-west-\u0661}"))
    assert found == ["images.base.region: 'eu-west-\u0661' is not an AWS region"]


def test_a_key_that_is_a_list_is_refused_as_invalid_yaml():
    found = problems("? [slack, images]\n: x\n")
    assert len(found) == 1 and "not valid YAML" in found[0] and "a key cannot be a list" in found[0]


@pytest.mark.parametrize(
    "settings, problem",
    [
        ("repository: /srv/x.git, branch: -x", "images.base.branch: '-x' is not a valid branch name"),
        ("repository: /srv/x.git, branch: x.lock", "images.base.branch: 'x.lock' is not a valid branch name"),
        ("repository: 'ext::sh -c x'", "images.base.repository: the git transport ext:: is not allowed"),
        ("repository: codecommit://..", "images.base.repository: 'codecommit://..' is not codecommit://<name> ("),
    ],
)
def test_a_repository_or_branch_the_bot_could_not_open_is_refused_at_load(settings, problem):
    found = problems(f"slack: {{channel: C0BAKERY}}\nimages:\n  base: {{pipeline: p, {settings}}}\n")
    assert len(found) == 1 and found[0].startswith(problem), found


def test_unsafe_variable_defaults_are_refused():
    found = problems(MINIMAL.replace("pipeline: ami-bakery-base}", "pipeline: p, variables: {x: 'a b; rm -rf /'}}"))
    assert found and found[0].startswith("images.base.variables.x:")


def test_duplicate_keys_are_refused_instead_of_silently_overwritten():
    found = problems(MINIMAL + "slack: {channel: C0OTHER}\n")
    assert "duplicate key 'slack'" in found[0]


def test_invalid_yaml_names_the_line():
    found = problems("slack: {channel: C0BAKERY\nimages: [\n")
    assert "not valid YAML" in found[0] and "line" in found[0]


def test_a_missing_file_says_how_to_point_at_one(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert "BAKERY_CONFIG" in info.value.problems[0]


def test_the_environment_never_shows_secrets_in_its_repr():
    env = Environment.from_environ({"SLACK_BOT_TOKEN": "xoxb-secret", "SLACK_SIGNING_SECRET": "shh"})
    assert "xoxb-secret" not in repr(env) and "shh" not in repr(env)


def test_the_environment_says_what_each_mode_lacks():
    env = Environment.from_environ({"SLACK_BOT_TOKEN": "xoxb-1"})
    assert env.problems_for("serve") == [
        "SLACK_SIGNING_SECRET: not set (HTTP mode verifies every Slack request with it)"
    ]
    assert env.problems_for("socket") == ["SLACK_APP_TOKEN: not set (Socket Mode needs an xapp- token)"]


# --- relative paths: resolved once, at load, against the directory the bot starts in ----------------


def test_the_default_state_file_is_under_the_directory_the_bot_starts_in(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_config(MINIMAL).state.path == str(tmp_path / ".bakery" / "state.db")


def test_a_relative_state_path_is_made_absolute_against_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = parse_config(MINIMAL + "state: {path: data/../db/state.db}\n")
    assert config.state.path == str(tmp_path / "db" / "state.db")


def test_an_in_memory_state_file_keeps_its_name():
    assert parse_config(MINIMAL + "state: {path: ':memory:'}\n").state.path == ":memory:"


def test_a_repository_given_as_a_relative_path_is_made_absolute_against_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = parse_config(MINIMAL.replace("codecommit://ami-bakery-base", "remotes/base.git"))
    assert config.images["base"].repository == str(tmp_path / "remotes" / "base.git")


@pytest.mark.parametrize(
    "remote",
    [
        "codecommit://ami-bakery-base",
        "https://github.com/acme/base.git",
        "git@github.com:acme/base.git",
        "file:///srv/git/base.git",
        "ssh://git@git.example.com/images/base.git",
        "codecommit::eu-west-1://ami-bakery-base",
    ],
)
def test_a_repository_url_is_kept_as_written(remote):
    config = parse_config(MINIMAL.replace("codecommit://ami-bakery-base", remote))
    assert config.images["base"].repository == remote


def test_a_relative_work_directory_is_made_absolute_when_the_environment_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Environment.from_environ({}).workdir == str(tmp_path / ".bakery")
    assert Environment.from_environ({"BAKERY_WORKDIR": "var/bot"}).workdir == str(tmp_path / "var" / "bot")
