"""The sandbox's pieces on their own, without servers: its configuration, its seeded repositories, its page."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.config import parse_config
from bot.sandbox import config as sandbox_config
from bot.sandbox.aws.seed import image_files
from bot.sandbox.aws.stack import SandboxOptions
from bot.sandbox.pipeline.journal import Journal
from bot.sandbox.pipeline.stages import Run, Stages
from bot.sandbox.slack.page import find_button

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "http://127.0.0.1:5000/123456789012/ami-bakery-events"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ami-bakery-events"


def derived(doc: dict, tmp_path: Path) -> sandbox_config.SandboxConfig:
    out = sandbox_config.derive(doc, queue_url=QUEUE, topic_arn=TOPIC, state_path=tmp_path / "state.db")
    return sandbox_config.write(out, tmp_path / "bakery.yaml")


def test_the_sandbox_config_derived_from_the_example_passes_the_bots_validation(tmp_path):
    example = sandbox_config.read_example(ROOT / "bakery.example.yaml")
    config = derived(example, tmp_path).config
    assert config.notifications.queue_url == QUEUE and config.notifications.sns_topic_arns == (TOPIC,)
    assert config.state.path == str(tmp_path / "state.db")
    assert set(config.images) == set(example["images"]) and set(config.targets) == set(example.get("targets", {}))
    for image in config.images.values():
        assert image.variables["sandbox_fail"] == "none"  # declared, or /bake refuses the key
        assert image.repository.startswith("codecommit://")
    assert parse_config((tmp_path / "bakery.yaml").read_text()).images.keys() == config.images.keys()


def test_an_image_on_a_git_url_is_moved_onto_the_local_codecommit(tmp_path):
    doc = yaml.safe_load((ROOT / "bakery.example.yaml").read_text())
    doc["images"]["base"]["repository"] = "https://git.example.com/images/base.git"
    assert derived(doc, tmp_path).config.images["base"].repository == "codecommit://ami-bakery-base"


def test_roles_come_from_access_and_the_user_groups():
    config = parse_config((ROOT / "bakery.example.yaml").read_text())
    groups = {"S0PLATFORM": ("U0ALICE",)}
    assert sandbox_config.roles_of("U0ALICE", config, groups) == ["baker", "approver", "deployer"]
    assert sandbox_config.roles_of("U0CAROL", config, groups) == ["baker"]


def test_the_sandbox_seeds_its_repositories_from_the_project_it_ships_in():
    # Whatever directory it starts in: the project's own templates and buildspecs, not a placeholder README.
    files = image_files(SandboxOptions().project_root, "base", {"base", "web"})
    assert "packer/images/base/base.pkr.hcl" in files and "buildspec.yml" in files
    assert "README.md" not in files


def test_a_repository_gets_its_own_packer_directory_the_shared_files_and_the_buildspecs(tmp_path):
    for rel in ("packer/images/base/base.pkr.hcl", "packer/images/web/web.pkr.hcl", "packer/scripts/x.sh"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    (tmp_path / "buildspec.yml").write_text("version: 0.2\n")
    (tmp_path / "buildspec-test.yml").write_text("version: 0.2\n")
    files = image_files(tmp_path, "base", {"base", "web"})
    assert set(files) == {
        "packer/images/base/base.pkr.hcl",
        "packer/scripts/x.sh",
        "buildspec.yml",
        "buildspec-test.yml",
    }


def test_without_packer_files_a_repository_starts_with_a_readme_saying_so(tmp_path):
    files = image_files(tmp_path, "base", {"base"})
    assert list(files) == ["README.md"] and b"no Packer files" in files["README.md"]


def test_validate_says_it_skipped_when_packer_is_not_installed(tmp_path):
    stages = Stages(None, publish=lambda m: None, logs=Journal(), log_url=lambda e, s: "", packer=None)
    run = Run("base", "ami-bakery-base", None, "eu-west-1", tmp_path, "e" * 36, "c" * 40, {})
    assert stages.validate(run).startswith("Skipped: packer is not installed")


def test_sandbox_fail_names_a_stage_in_any_case():
    run = Run("base", "p", None, "eu-west-1", Path("."), "e", "c" * 40, {"variables": {"sandbox_fail": "Bake"}})
    assert run.fail_stage == "bake" and run.request_id == "h-cccccccccc"


def test_a_click_finds_the_button_by_action_id_and_value():
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "x"}},
        {
            "type": "actions",
            "block_id": "approval:1",
            "elements": [
                {
                    "type": "button",
                    "action_id": "bake_approve",
                    "value": "a1",
                    "text": {"type": "plain_text", "text": "A"},
                },
                {
                    "type": "button",
                    "action_id": "bake_reject",
                    "value": "a1",
                    "text": {"type": "plain_text", "text": "R"},
                },
            ],
        },
    ]
    assert find_button(blocks, "bake_reject")[0] == "approval:1"
    assert find_button(blocks, "bake_approve", "a1")[1]["value"] == "a1"
    assert find_button(blocks, "bake_approve", "other") is None
    assert find_button(blocks, "rollout_start") is None


def test_the_sandbox_keeps_few_amis_so_bake_gc_has_something_to_show_but_never_sweeps_by_itself(tmp_path):
    example = sandbox_config.read_example(ROOT / "bakery.example.yaml")
    config = derived(example, tmp_path).config
    for image in config.images.values():
        assert (image.lifecycle.keep_released, image.lifecycle.keep_unreleased_days) == (2, 0)
        assert image.lifecycle.sweep == "off"
    assert "lifecycle" not in example  # the example keeps the contract's defaults
