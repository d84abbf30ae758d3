"""The sandbox's pipeline follows bake-request.json as the real one does: Source reads it at the image's `path`
(CONTRACT §4, §7), Validate checks the templates there, and Bake tags the AMI with its train where it has one
(§10)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.sandbox.aws.seed import register_ami
from bot.sandbox.pipeline.journal import Journal
from bot.sandbox.pipeline.stages import Run, Stages

ROOT = Path(__file__).resolve().parents[2]
GIT = ["git", "-c", "user.name=seed", "-c", "user.email=seed@example.invalid", "-c", "commit.gpgsign=false"]


def shared_repository(tmp_path: Path) -> tuple[Path, str]:
    """A bare repository holding web's templates and its request under images/web, a stale request at the root."""
    work, bare = tmp_path / "work", tmp_path / "images.git"
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    shutil.copytree(ROOT / "packer" / "images" / "web", work / "images" / "web")
    (work / "images" / "web" / "bake-request.json").write_text(json.dumps({"request_id": "b-webpath1", "image": "web"}))
    (work / "bake-request.json").write_text(json.dumps({"request_id": "b-stale001", "image": "base"}))
    subprocess.run([*GIT, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(work), "commit", "-q", "-m", "bake(web): at its path"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    commit = subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    return bare, commit.stdout.strip()


def run_of(bare: Path, commit: str, path: str) -> Run:
    return Run("web", "ami-bakery-web", "base", "eu-west-1", bare, "e" * 36, commit, {}, path=path)


def test_source_reads_the_request_at_the_images_path(tmp_path):
    bare, commit = shared_repository(tmp_path)
    stages = Stages(None, publish=lambda m: None, logs=Journal(), log_url=lambda e, s: "", packer=None)
    run = run_of(bare, commit, "images/web")
    stages.source(run)
    assert run.request["request_id"] == "b-webpath1" and run.request_id == "b-webpath1"
    at_the_root = run_of(bare, commit, "")
    stages.source(at_the_root)
    assert at_the_root.request_id == "b-stale001"


def test_validate_checks_the_templates_at_the_images_path(tmp_path):
    packer = shutil.which("packer")
    if packer is None:
        pytest.skip("packer is not installed: apt-get install packer")
    bare, commit = shared_repository(tmp_path)
    stages = Stages(None, publish=lambda m: None, logs=Journal(), log_url=lambda e, s: "", packer=packer)
    assert stages.validate(run_of(bare, commit, "images/web")).startswith("packer validate -syntax-only passed")


@pytest.mark.parametrize(("train", "tagged"), [("t-abc234", {"bakery:train": "t-abc234"}), (None, {})])
def test_the_bake_stage_tags_the_ami_with_its_train_only_when_it_has_one(aws_session, tmp_path, train, tagged):
    """As the Bake buildspec does (CONTRACT §10): `bakery:train` from bake-request.json, where it applies."""
    published: list[dict] = []
    stages = Stages(aws_session, publish=published.append, logs=Journal(), log_url=lambda e, s: "", packer=None)
    source = register_ami(aws_session.client("ec2"), "upstream", {})  # Packer looks the source AMI up first
    request = {"request_id": "b-webpath1", "image": "web", "source_ami": source}
    run = run_of(tmp_path, "c" * 40, "images/web")
    run.request = {**request, **({"train": train} if train else {})}
    stages.bake(run)
    [image] = aws_session.client("ec2").describe_images(ImageIds=[run.ami_id])["Images"]
    tags = {t["Key"]: t["Value"] for t in image["Tags"]}
    assert {k: v for k, v in tags.items() if k == "bakery:train"} == tagged
    assert tags["bakery:request-id"] == "b-webpath1" and published[0]["status"] == "succeeded"
