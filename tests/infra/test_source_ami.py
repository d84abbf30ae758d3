"""A child image never silently bakes on stock Amazon Linux, nor on the stale source_ami of a hand-pushed commit.

The pipeline names the parent's parameter (image.yaml, rendered here); Validate and Bake run for real in bash with
stand-ins for `aws` and `packer` (tests/infra/test_buildspec.py's Bake), in real git repositories.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.infra.cfn import AL2023, render
from tests.infra.test_buildspec import RESOLVED_AMI, SCRIPTS, Bake

sys.path.insert(0, str(SCRIPTS))  # source_ami.py imports bakery_build.py from beside it, as in the build image
_spec = importlib.util.spec_from_file_location("source_ami", SCRIPTS / "source_ami.py")
source_ami = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(source_ami)

PARENT_PARAMETER = "/bakery/images/base/latest"
PINNED = "ami-0aaaaaaaaaaaaaaaa"
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]


def _action_variables(templates, stage: str, **parameters: str) -> dict[str, dict]:
    stages = render(templates, "image", **parameters)["Pipeline"]["Properties"]["Stages"]
    [action] = [s["Actions"][0] for s in stages if s["Name"] == stage]
    return {v["name"]: v for v in json.loads(action["Configuration"]["EnvironmentVariables"])}


# --- the pipeline names the parent's parameter -----------------------------------------------------------------


@pytest.mark.parametrize("stage", ["Validate", "Bake"])
def test_a_child_pipeline_reads_its_parents_released_ami(templates, stage):
    variables = _action_variables(templates, stage, ImageName="web", ParentImage="base")
    assert variables["SOURCE_AMI_PARAMETER"] == {
        "name": "SOURCE_AMI_PARAMETER", "value": PARENT_PARAMETER, "type": "PLAINTEXT",
    }


@pytest.mark.parametrize("stage", ["Validate", "Bake"])
def test_a_root_pipeline_reads_the_upstream_os_parameter(templates, stage):
    variables = _action_variables(templates, stage, ImageName="base")
    assert variables["SOURCE_AMI_PARAMETER"]["value"] == AL2023


def test_the_parent_parameter_accepts_image_names_only(templates):
    import re

    pattern = templates["image"]["Parameters"]["ParentImage"]["AllowedPattern"]
    assert re.fullmatch(pattern, "") and re.fullmatch(pattern, "base")
    for bad in ("Base", "base/latest", "../x", "-base"):
        assert not re.fullmatch(pattern, bad), bad


# --- Validate and Bake, run -------------------------------------------------------------------------------------


@pytest.fixture
def child(tmp_path):
    bake = Bake(tmp_path, image="web")
    bake.env["SOURCE_AMI_PARAMETER"] = PARENT_PARAMETER
    return bake


def test_validate_fails_and_says_so_when_the_parent_has_no_released_ami(child):
    child.request(image="web")
    child.env["FAKE_SSM_ERROR"] = "ParameterNotFound"
    result = child.phase("build", child.env, buildspec="buildspec-validate.yml")
    assert result.returncode != 0
    assert "the parent image base has no released AMI: SSM parameter /bakery/images/base/latest" in result.stderr
    assert not any(c.startswith("validate ") for c in child.calls())


def test_a_bake_of_a_child_without_a_released_parent_fails_before_packer_and_is_reported(child):
    child.request(image="web")
    child.env["FAKE_SSM_ERROR"] = "ParameterNotFound"
    build, post = child.run()
    assert build.returncode != 0 and post.returncode != 0
    assert "has no released AMI" in build.stderr
    assert not any(c.startswith("build ") for c in child.calls())
    assert child.result().status == "failed"


def test_any_other_ssm_error_fails_as_itself_not_as_a_missing_parameter(child):
    child.request(image="web")
    child.env["FAKE_SSM_ERROR"] = "AccessDeniedException"
    result = child.phase("build", child.env, buildspec="buildspec-validate.yml")
    assert result.returncode != 0
    assert "AccessDeniedException" in result.stderr
    assert "no released AMI" not in result.stderr


def test_a_child_bakes_on_its_parents_released_ami(child):
    child.request(image="web")
    build, _ = child.run()
    assert build.returncode == 0, build.stderr
    assert any(f"ssm get-parameter --name {PARENT_PARAMETER}" in c for c in child.calls())
    assert child.var_file()["source_ami"] == child.var_file()["parent_ami"] == RESOLVED_AMI


# --- whose source_ami: the bot's for this commit, else the parameter's ------------------------------------------


def _commit(bake: Bake, message: str) -> None:
    if not (bake.repo / ".git").exists():
        subprocess.run([*GIT, "init", "-q"], cwd=bake.repo, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=bake.repo, check=True)
    subprocess.run([*GIT, "commit", "-q", "--allow-empty", "-m", message], cwd=bake.repo, check=True)


def _history_with_a_bot_request(bake: Bake) -> None:
    (bake.repo / "README").write_text("web\n")
    _commit(bake, "web: first template")
    bake.request(image="web", request_id="b-7f3k2q", source_ami=PINNED)
    _commit(bake, "bake(web): CVE-2026-1234\n\nBakery-Request: b-7f3k2q\nRequested-By: U012ABCDEF")


def test_the_bots_request_for_this_commit_bakes_on_the_ami_it_pinned(child):
    _history_with_a_bot_request(child)
    build, _ = child.run()
    assert build.returncode == 0, build.stderr
    assert child.var_file()["source_ami"] == PINNED
    assert "the bot's request b-7f3k2q for this commit pins it" in build.stderr


@pytest.mark.parametrize("buildspec", ["buildspec-validate.yml", "buildspec.yml"])
def test_a_pinned_request_reads_no_parameter_as_in_a_member_account_where_the_parent_has_none(child, buildspec):
    # A child in a member account: /bakery/images/<parent>/latest is in the parent's account, so any read here fails.
    _history_with_a_bot_request(child)
    child.env["FAKE_SSM_ERROR"] = "AccessDeniedException"
    result = child.phase("build", child.env, buildspec=buildspec)
    assert result.returncode == 0, result.stderr
    assert child.var_file()["source_ami"] == PINNED
    assert not any("ssm get-parameter" in c for c in child.calls())


def test_a_malformed_pin_fails_before_any_parameter_is_read(child):
    child.request(image="web", source_ami="ami-$(id)")
    result = child.phase("build", child.env, buildspec="buildspec-validate.yml")
    assert result.returncode != 0 and "is not an AMI id" in result.stderr
    assert not any("ssm get-parameter" in c for c in child.calls())


def test_a_commit_pushed_by_hand_after_it_bakes_on_the_parents_released_ami(child):
    _history_with_a_bot_request(child)
    (child.repo / "README").write_text("web, tuned by hand\n")
    _commit(child, "tune nginx")
    build, _ = child.run()
    assert build.returncode == 0, build.stderr
    assert child.var_file()["source_ami"] == RESOLVED_AMI
    assert f"source_ami {PINNED} is not this commit's request: ignored" in build.stderr


def test_a_copied_trailer_on_a_commit_that_leaves_the_request_alone_is_not_trusted(child):
    _history_with_a_bot_request(child)
    (child.repo / "README").write_text("again\n")
    _commit(child, "redo\n\nBakery-Request: b-7f3k2q")
    build, _ = child.run()
    assert build.returncode == 0, build.stderr
    assert child.var_file()["source_ami"] == RESOLVED_AMI


def test_a_request_edited_by_hand_under_another_trailer_is_not_trusted(child):
    _history_with_a_bot_request(child)
    child.request(image="web", request_id="b-7f3k2q", source_ami="ami-0bbbbbbbbbbbbbbbb")
    _commit(child, "pin by hand\n\nBakery-Request: b-other1")
    build, _ = child.run()
    assert build.returncode == 0, build.stderr
    assert child.var_file()["source_ami"] == RESOLVED_AMI


def test_a_shallow_clone_cannot_vouch_for_the_request_so_the_parameter_decides(child, tmp_path):
    _history_with_a_bot_request(child)
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{child.repo}", str(shallow)], check=True)
    for name in ("variables.pkr.hcl", "web.pkr.hcl"):
        assert (shallow / name).exists()
    child.repo = shallow
    build, _ = child.run()
    assert build.returncode == 0, build.stderr
    assert child.var_file()["source_ami"] == RESOLVED_AMI


def test_validate_and_bake_choose_the_same_source_ami(child):
    _history_with_a_bot_request(child)
    validate = child.phase("build", child.env, buildspec="buildspec-validate.yml")
    assert validate.returncode == 0, validate.stderr
    validated = child.var_file()["source_ami"]
    build, _ = child.run()
    assert build.returncode == 0, build.stderr
    assert validated == child.var_file()["source_ami"] == PINNED


# --- the script's pieces ----------------------------------------------------------------------------------------


def test_the_parent_is_read_from_the_bakerys_parameter_only():
    assert source_ami.parent_of(PARENT_PARAMETER) == "base"
    assert source_ami.parent_of(AL2023) is None
    assert source_ami.parent_of("/bakery/images//latest") is None
    assert source_ami.parent_of("/bakery/images/a/b/latest") is None


def test_a_malformed_source_ami_is_refused_even_when_ignored():
    with pytest.raises(source_ami.Refused, match="is not an AMI id"):
        source_ami.choose({"source_ami": "ami-$(id)"}, parameter=AL2023, parameter_ami=RESOLVED_AMI, trusted=False)


def test_a_parameter_that_holds_no_ami_id_is_refused():
    with pytest.raises(source_ami.Refused, match="not an AMI id"):
        source_ami.choose({}, parameter=PARENT_PARAMETER, parameter_ami="None", trusted=False)


def test_a_missing_upstream_parameter_is_named():
    with pytest.raises(source_ami.Refused, match=f"source AMI parameter {AL2023} does not exist"):
        source_ami.choose({}, parameter=AL2023, parameter_ami="", trusted=False)
