"""The Test stage's driver (packer/scripts/smoke_test.sh), run in bash with an `aws` stand-in that records its calls.

What it launches carries the leak sweep's marker, bakery:build, on the instance and its volume, and the instance is
terminated on the way out whatever happened.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMOKE_TEST = ROOT / "packer" / "scripts" / "smoke_test.sh"
AMI = "ami-0123456789abcdef0"
EXECUTION_ID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
FAKE_AWS = r"""#!/usr/bin/env bash
printf '%s\0' "$@" >> "$FAKE_LOG"; printf '\n' >> "$FAKE_LOG"
case "$1 $2" in
  "ec2 run-instances") echo i-0123456789abcdef0 ;;
  "ssm describe-instance-information") echo Online ;;
  "ssm send-command") echo 11111111-2222-3333-4444-555555555555 ;;
  "ssm get-command-invocation") case "$*" in *"--query Status"*) echo "${FAKE_STATUS:-Success}" ;; *) echo ok ;; esac ;;
esac
"""


def _run(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, list[list[str]]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    checks = tmp_path / "checks.sh"
    checks.write_text("true\n")
    log = tmp_path / "aws.log"
    base = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LOG": str(log),
        "PKR_VAR_subnet_id": "subnet-0123456789abcdef0", "PKR_VAR_security_group_id": "sg-0123456789abcdef0",
        "PKR_VAR_iam_instance_profile": "ami-bakery-build-instance",
    }
    result = subprocess.run(["bash", str(SMOKE_TEST), AMI, str(checks)], env={**base, **env},
                            capture_output=True, text=True, timeout=60)
    calls = [line.split("\0")[:-1] for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


def test_the_test_instance_and_its_volume_carry_the_builds_marker(tmp_path):
    result, calls = _run(tmp_path, PIPELINE_EXECUTION_ID=EXECUTION_ID)
    assert result.returncode == 0, result.stderr
    [launch] = [c for c in calls if c[:2] == ["ec2", "run-instances"]]
    specs = launch[launch.index("--tag-specifications") + 1:][:2]
    marker = f"{{Key=bakery:test-of,Value={AMI}}},{{Key=bakery:build,Value={EXECUTION_ID}}}"
    assert specs == [f"ResourceType=instance,Tags=[{{Key=Name,Value=bakery-test}},{marker}]",
                     f"ResourceType=volume,Tags=[{marker}]"]


@pytest.mark.parametrize("status", ["Success", "Failed"])
def test_the_instance_is_terminated_whatever_the_checks_said(tmp_path, status):
    result, calls = _run(tmp_path, PIPELINE_EXECUTION_ID=EXECUTION_ID, FAKE_STATUS=status)
    assert (result.returncode == 0) == (status == "Success")
    assert calls[-1] == ["ec2", "terminate-instances", "--instance-ids", "i-0123456789abcdef0"]


def test_a_build_id_that_could_break_the_tag_shorthand_is_refused_before_launching(tmp_path):
    result, calls = _run(tmp_path, PIPELINE_EXECUTION_ID="x},{Key=Name,Value=evil")
    assert result.returncode == 2
    assert "is not a build id" in result.stderr
    assert calls == []


@pytest.mark.parametrize(("given", "flag"), [
    ({}, "--no-associate-public-ip-address"),
    ({"PKR_VAR_associate_public_ip_address": "false"}, "--no-associate-public-ip-address"),
    # NetworkMode public (build-projects.yaml): no NAT gateway, so the instance reaches SSM by its public address.
    ({"PKR_VAR_associate_public_ip_address": "true"}, "--associate-public-ip-address"),
])
def test_the_test_instance_has_a_public_address_only_when_the_build_projects_say_so(tmp_path, given, flag):
    result, calls = _run(tmp_path, PIPELINE_EXECUTION_ID=EXECUTION_ID, **given)
    assert result.returncode == 0, result.stderr
    [launch] = [c for c in calls if c[:2] == ["ec2", "run-instances"]]
    assert [a for a in launch if a.endswith("associate-public-ip-address")] == [flag]


def test_a_public_address_setting_other_than_true_or_false_is_refused_before_launching(tmp_path):
    result, calls = _run(tmp_path, PIPELINE_EXECUTION_ID=EXECUTION_ID, PKR_VAR_associate_public_ip_address="yes")
    assert result.returncode == 2 and "must be true or false" in result.stderr
    assert calls == []
