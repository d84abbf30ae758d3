"""`bakery gc [--dry-run]` for operators (§14, issue 13 item 5): the same report on stdout, the dry run changing
nothing, and a non-zero exit when AWS refused a deregistration."""

from __future__ import annotations

import pytest

from bot.adapters.aws.ec2_lifecycle import Ec2Lifecycle
from bot.cli import main
from bot.domain.errors import ImageError
from tests.fixtures.aws import new_session

CONFIG = """
slack: {{channel: C0BAKERY}}
state: {{backend: sqlite, path: {state}}}
lifecycle: {{keep_released: 1, keep_unreleased_days: 0}}
images:
  base: {{repository: codecommit://base, pipeline: ami-bakery-base, region: eu-west-1}}
"""


@pytest.fixture
def config_file(moto, tmp_path):
    path = tmp_path / "bakery.yaml"
    path.write_text(CONFIG.format(state=tmp_path / "state.db"))
    return str(path)


def unreleased(ec2, name: str) -> str:
    ami_id = ec2.register_image(
        Name=name,
        RootDeviceName="/dev/xvda",
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
    )["ImageId"]
    ec2.create_tags(Resources=[ami_id], Tags=[{"Key": "bakery:image", "Value": "base"}])
    return ami_id


def amis(ec2) -> set[str]:
    return {i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]}


def test_the_dry_run_prints_what_would_go_and_changes_nothing(config_file, capsys):
    ec2 = new_session().client("ec2")
    old = unreleased(ec2, "base-old")

    assert main(["gc", "--config", config_file, "--dry-run"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("Lifecycle sweep (dry run) of base: would remove 1 AMI, would free 15 GB")
    assert f"• base `{old}` (eu-west-1, 123456789012), 15 GB: unreleased, 0 days old" in out
    assert amis(ec2) == {old}


def test_gc_removes_and_says_so(config_file, capsys):
    ec2 = new_session().client("ec2")
    old = unreleased(ec2, "base-old")

    assert main(["gc", "--config", config_file]) == 0

    assert "Lifecycle sweep of base: removed 1 AMI, freed 15 GB of snapshots ($0.75/month" in capsys.readouterr().out
    assert old not in amis(ec2)


def test_a_deregistration_aws_refuses_exits_non_zero_and_says_why(config_file, capsys, monkeypatch):
    ec2 = new_session().client("ec2")
    old = unreleased(ec2, "base-old")

    def refuse(self, ami):
        raise ImageError(f"EC2 refused to deregister {ami.ami_id}: deregistration protection is enabled")

    monkeypatch.setattr(Ec2Lifecycle, "deregister", refuse)

    assert main(["gc", "--config", config_file]) == 1

    out = capsys.readouterr().out
    assert f"• deregister base `{old}` (eu-west-1, 123456789012): EC2 refused" in out
    assert old in amis(ec2)


def test_no_region_anywhere_is_one_clear_line_not_a_traceback(moto, tmp_path, capsys, monkeypatch):
    # An operator's shell without AWS_REGION, an image without `region`: boto3 raised NoRegionError mid-sweep.
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    path = tmp_path / "bakery.yaml"
    path.write_text(CONFIG.format(state=tmp_path / "state.db").replace(", region: eu-west-1", ""))

    assert main(["gc", "--config", str(path), "--dry-run"]) == 2

    err = capsys.readouterr().err
    assert err == (
        "error: images.base.region: not set, and neither is AWS_REGION (or AWS_DEFAULT_REGION): "
        "the sweep cannot tell where base's AMIs are\n"
    )
