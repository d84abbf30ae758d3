"""The buildspecs and bakery_build.py: a bake's request goes to Packer as data and its result reaches the bot.

The Bake buildspec is run here for real, in bash, phase by phase as CodeBuild runs it, with stand-ins for
`packer` and `aws` on PATH that record what they were given; its published message goes through the bot's parser.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.domain.models import REQUEST_FILE, STAGES
from bot.intake.parse import BAKE_RESULT_TYPE, parse_notification
from tests.infra.cfn import render

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = json.loads((ROOT / "packer" / "pipeline-contract.json").read_text())
SCRIPTS = ROOT / "packer" / "scripts"
EXECUTION_ID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
RESOLVED_AMI = "ami-0fedcba9876543210"
HOSTILE = ["$(touch {canary})", "; touch {canary}", "`touch {canary}`", "x\ntouch {canary}", "' \" \\ $HOME"]

_spec = importlib.util.spec_from_file_location("bakery_build", SCRIPTS / "bakery_build.py")
bakery_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bakery_build)

FAKE_PACKER = r"""#!/usr/bin/env bash
printf '%s\n' "$*" >> "$FAKE_LOG"
if [ "$1" = build ]; then
  [ -z "${FAKE_PACKER_FAILS:-}" ] || exit 1
  request_id="$(jq -r .request_id bakery.pkrvars.json)"
  jq -n --arg r "$request_id" '{builds: [{name: "b", builder_type: "amazon-ebs", packer_run_uuid: "run-2",
    artifact_id: "eu-west-1:ami-0123456789abcdef0,eu-central-1:ami-0abcdef0123456789",
    custom_data: {request_id: $r}}], last_run_uuid: "run-2"}' > packer-manifest.json
  # The template's file provisioner downloads the build instance's package list next to the manifest.
  [ -z "${FAKE_PACKAGES:-}" ] || printf '%s\n' "$FAKE_PACKAGES" > packages.txt
fi
"""
FAKE_AWS = r"""#!/usr/bin/env bash
printf 'aws %s\n' "$*" >> "$FAKE_LOG"
case "$1 $2" in
  "ssm get-parameter")
    if [ -n "${FAKE_SSM_ERROR:-}" ]; then
      echo "An error occurred ($FAKE_SSM_ERROR) when calling GetParameter" >&2; exit 254
    fi
    echo "$FAKE_RESOLVED_AMI" ;;
  "sns publish") for arg in "$@"; do case "$arg" in file://*) cp "${arg#file://}" "$FAKE_PUBLISHED" ;; esac; done ;;
  "s3api put-object")
    [ -z "${FAKE_S3_FAILS:-}" ] || exit 1
    while [ "$#" -gt 0 ]; do [ "$1" = --body ] && cp "$2" "$FAKE_S3_UPLOADED"; shift; done ;;
esac
"""


def _buildspec(name: str = "buildspec.yml") -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def _commands(spec: dict, phase: str) -> list[str]:
    return spec["phases"][phase]["commands"]


class Bake:
    """One run of the Bake buildspec in a scratch image repository."""

    def __init__(self, tmp_path: Path, image: str = "base"):
        self.repo = tmp_path / "repo"
        self.bin = tmp_path / "bin"
        self.log = tmp_path / "calls.log"
        self.published = tmp_path / "published.json"
        self.canary = tmp_path / "canary"
        self.exported = tmp_path / "exported.env"
        self.repo.mkdir()
        self.bin.mkdir()
        for name in ("variables.pkr.hcl", f"{image}.pkr.hcl"):
            (self.repo / name).write_text((ROOT / "packer" / "images" / image / name).read_text())
        for name, text in (("packer", FAKE_PACKER), ("aws", FAKE_AWS)):
            (self.bin / name).write_text(text)
            (self.bin / name).chmod(0o755)
        self.env = {
            "PATH": f"{self.bin}:{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "FAKE_LOG": str(self.log),
            "FAKE_PUBLISHED": str(self.published),
            "FAKE_RESOLVED_AMI": RESOLVED_AMI,
            "FAKE_S3_UPLOADED": str(tmp_path / "uploaded.txt"),
            "BAKERY_TOOLS": str(SCRIPTS),
            "BAKERY_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:ami-bakery-events",
            "IMAGE_NAME": image,
            "PIPELINE_NAME": f"ami-bakery-{image}",
            "PIPELINE_EXECUTION_ID": EXECUTION_ID,
            "CODEBUILD_RESOLVED_SOURCE_VERSION": COMMIT,
            "CODEBUILD_BUILD_ARN": f"arn:aws:codebuild:eu-west-1:123456789012:build/ami-bakery-{image}:b1e6",
            "CODEBUILD_BUILD_URL": "https://eu-west-1.console.aws.amazon.com/codesuite/codebuild/projects/x",
            "AWS_REGION": "eu-west-1",
        }

    def request(self, **fields) -> None:
        doc = {"request_id": "b-7f3k2q", "image": "base", "requested_by": "U012ABCDEF",
               "requested_at": "2026-11-26T09:14:03Z", "reason": "CVE-2026-1234", "variables": {}}
        doc.update(fields)
        (self.repo / REQUEST_FILE).write_text(json.dumps(doc))

    def phase(self, phase: str, env: dict[str, str], buildspec: str = "buildspec.yml") -> subprocess.CompletedProcess:
        # CodeBuild runs a phase's commands in one shell and stops the phase at the first that fails.
        spec = _buildspec(buildspec)
        defaults = {k: str(v) for k, v in spec["env"]["variables"].items()}
        exported = " ".join(f'{name}="${name}"' for name in spec["env"].get("exported-variables", []))
        script = "set -e\n" + "\n".join(_commands(spec, phase)) + f"\nenv -i {exported} > {self.exported}"
        return subprocess.run(["bash", "-c", script], cwd=self.repo, env={**defaults, **env},
                              capture_output=True, text=True, timeout=60)

    def run(self) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
        build = self.phase("build", self.env)
        succeeding = "1" if build.returncode == 0 else "0"
        post = self.phase("post_build", {**self.env, "CODEBUILD_BUILD_SUCCEEDING": succeeding})
        return build, post

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def var_file(self) -> dict:
        return json.loads((self.repo / "bakery.pkrvars.json").read_text())

    def exported_variables(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self.exported.read_text().splitlines())

    def result(self):
        (result,) = parse_notification(self.published.read_text())
        return result


@pytest.fixture
def bake(tmp_path):
    return Bake(tmp_path)


# --- the Bake buildspec, run ------------------------------------------------------------------------------------


def test_a_bake_publishes_a_result_the_bot_reads_with_every_region_s_ami(bake):
    bake.request(variables={"instance_type": "t3.small"})
    build, post = bake.run()
    assert build.returncode == 0, build.stderr
    assert post.returncode == 0, post.stderr
    result = bake.result()
    assert (result.status, result.image, result.request_id) == ("succeeded", "base", "b-7f3k2q")
    assert (result.commit_id, result.pipeline, result.execution_id) == (COMMIT, "ami-bakery-base", EXECUTION_ID)
    assert [(a.region, a.ami_id, a.account_id) for a in result.amis] == [
        ("eu-west-1", "ami-0123456789abcdef0", "123456789012"),
        ("eu-central-1", "ami-0abcdef0123456789", "123456789012"),
    ]
    assert result.log_url.startswith("https://")
    assert bake.exported_variables() == {
        "AMI_ID": "ami-0123456789abcdef0",
        "AMIS": "eu-west-1:ami-0123456789abcdef0 eu-central-1:ami-0abcdef0123456789",
    }


PACKAGES = "bash 0:5.2.15-1.amzn2023.0.2.x86_64\nopenssl-libs 1:3.0.8-1.amzn2023.0.18.x86_64"
BUCKET = "ami-bakery-artifacts-123456789012-eu-west-1"


def test_the_amis_package_list_goes_to_the_artifact_bucket_and_the_result_names_it(bake):
    bake.request()
    bake.env.update(FAKE_PACKAGES=PACKAGES, BAKERY_ARTIFACT_BUCKET=BUCKET)
    build, post = bake.run()
    assert (build.returncode, post.returncode) == (0, 0), build.stderr + post.stderr
    key = f"packages/base/{EXECUTION_ID}/packages.txt"
    uri = f"s3://{BUCKET}/{key}"
    upload = f"aws s3api put-object --bucket {BUCKET} --key {key} --body packages.txt --content-type text/plain"
    assert upload in bake.calls()
    assert (bake.repo.parent / "uploaded.txt").read_text() == PACKAGES + "\n"
    published = json.loads(bake.published.read_text())
    assert published["package_list"] == uri and published["status"] == "succeeded"
    assert len(bake.published.read_bytes()) < 256 * 1024
    assert bake.result().status == "succeeded"  # the bot reads a result with the new field as before
    calls = bake.calls()
    assert calls.index(upload) < next(
        i for i, c in enumerate(calls) if c.startswith("aws sns publish")
    ), "the list is stored before the result that names it is out"


@pytest.mark.parametrize(
    "change",
    [{"FAKE_S3_FAILS": "1"}, {"BAKERY_ARTIFACT_BUCKET": ""}, {"FAKE_PACKAGES": ""}, {"FAKE_PACKER_FAILS": "1"}],
    ids=["upload-fails", "no-bucket", "no-list", "bake-fails"],
)
def test_without_a_stored_package_list_the_result_names_none_and_is_published(bake, change):
    bake.request()
    bake.env.update({"FAKE_PACKAGES": PACKAGES, "BAKERY_ARTIFACT_BUCKET": BUCKET, **change})
    bake.run()
    published = json.loads(bake.published.read_text())
    assert "package_list" not in published
    assert published["status"] == ("failed" if "FAKE_PACKER_FAILS" in change else "succeeded")


def test_the_report_names_only_a_package_list_in_the_buildspecs_form():
    env = {"IMAGE_NAME": "base", "PIPELINE_NAME": "ami-bakery-base", "PIPELINE_EXECUTION_ID": EXECUTION_ID,
           "BAKERY_COMMIT_ID": COMMIT, "CODEBUILD_BUILD_SUCCEEDING": "1"}
    build = {"packer_run_uuid": "r", "artifact_id": "eu-west-1:ami-0123456789abcdef0"}
    manifest = {"last_run_uuid": "r", "builds": [build]}
    good = f"s3://{BUCKET}/packages/base/{EXECUTION_ID}/packages.txt"
    for uri, named in ((good, True), (good + "\n", False), ("https://example.com/p.txt", False), ("", False)):
        result = bakery_build.bake_result(None, manifest, env=env, commit_message=None, package_list=uri)
        assert ("package_list" in result) is named, uri


def test_a_repository_in_the_projects_layout_bakes_its_image_directory(bake):
    layout = bake.repo / "packer" / "images" / "base"
    layout.mkdir(parents=True)
    for name in ("variables.pkr.hcl", "base.pkr.hcl"):
        (bake.repo / name).rename(layout / name)
    bake.request()
    build, _ = bake.run()
    assert build.returncode == 0, build.stderr
    assert "build -color=false -var-file=bakery.pkrvars.json packer/images/base" in bake.calls()
    assert bake.result().status == "succeeded"


def test_packer_gets_the_request_as_a_var_file_with_the_resolved_source_ami(bake):
    bake.request(variables={"instance_type": "t3.small"})
    bake.run()
    calls = bake.calls()
    assert "init ." in calls
    assert "validate -var-file=bakery.pkrvars.json ." in calls
    assert "build -color=false -var-file=bakery.pkrvars.json ." in calls
    assert any("ssm get-parameter --name " + CONTRACT["default_source_ami_parameter"] in c for c in calls)
    assert bake.var_file() == {
        "instance_type": "t3.small", "image_name": "base", "source_ami": RESOLVED_AMI, "parent_ami": RESOLVED_AMI,
        "request_id": "b-7f3k2q", "requested_by": "U012ABCDEF", "commit_id": COMMIT,
        "pipeline_execution_id": EXECUTION_ID, "region": "eu-west-1", "inputs": "", "train": "",
    }


def test_a_source_ami_in_a_request_git_cannot_vouch_for_is_ignored_for_the_parameters(bake):
    # No clone, so nothing says the bot wrote this request for this commit (tests/infra/test_source_ami.py).
    bake.request(source_ami="ami-0aaaaaaaaaaaaaaaa")
    build, _ = bake.run()
    assert build.returncode == 0, build.stderr
    assert bake.var_file()["source_ami"] == RESOLVED_AMI
    assert "source_ami ami-0aaaaaaaaaaaaaaaa is not this commit's request: ignored" in build.stderr


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_request_values_reach_packer_verbatim_and_never_run(bake, template):
    value = template.format(canary=bake.canary)
    bake.request(variables={"instance_type": value})
    build, _ = bake.run()
    assert build.returncode == 0, build.stderr
    assert bake.var_file()["instance_type"] == value
    assert not bake.canary.exists()


@pytest.mark.parametrize("template", HOSTILE)
def test_a_hostile_source_ami_fails_the_bake_without_running(bake, template):
    bake.request(source_ami=template.format(canary=bake.canary))
    build, post = bake.run()
    assert build.returncode != 0 and post.returncode != 0
    assert not bake.canary.exists()
    assert not any(c.startswith("build ") for c in bake.calls())
    assert bake.result().status == "failed"


def test_a_variable_the_image_does_not_accept_fails_the_bake_and_says_which(bake):
    bake.request(variables={"subnet_id": "subnet-0bad", "colour": "blue"})
    build, post = bake.run()
    assert "colour, subnet_id" in build.stderr
    assert not any(c.startswith("build ") for c in bake.calls())
    assert post.returncode != 0
    result = bake.result()
    assert (result.status, result.amis, result.request_id) == ("failed", (), "b-7f3k2q")


def test_a_failed_packer_build_is_reported_as_failed_and_fails_the_build(bake):
    bake.request()
    bake.env["FAKE_PACKER_FAILS"] = "1"
    build, post = bake.run()
    assert build.returncode != 0
    assert post.returncode != 0, "the published failure must also fail the CodeBuild build"
    assert bake.result().status == "failed"


def test_a_request_for_another_image_is_refused(bake):
    bake.request(image="web")
    build, _ = bake.run()
    assert "this pipeline bakes base" in build.stderr
    assert bake.result().status == "failed"


def test_a_commit_pushed_by_hand_is_reported_under_the_bots_name_for_it(bake):
    bake.request()  # an older request, left in place by the hand-pushed commit
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=bake.repo, check=True)
    subprocess.run([*git, "add", "."], cwd=bake.repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "tune sshd\n\nRequested-By: U0HANDPUSH"], cwd=bake.repo, check=True)
    bake.run()
    assert bake.result().request_id == f"h-{COMMIT[:10]}"
    assert bake.var_file()["requested_by"] == "U0HANDPUSH"


INPUTS = "5" * 64  # an inputs fingerprint (CONTRACT §12)


def test_the_requests_inputs_fingerprint_and_the_bakery_as_requester_reach_packer_for_their_tags(bake):
    bake.request(inputs=INPUTS, requested_by="bakery")
    bake.run()
    assert (bake.var_file()["inputs"], bake.var_file()["requested_by"]) == (INPUTS, "bakery")


@pytest.mark.parametrize("inputs", ["abc", "5" * 63 + "Z", 5, "$(touch canary)"])
def test_inputs_that_are_no_fingerprint_are_left_out(bake, inputs):
    bake.request(inputs=inputs)
    bake.run()
    assert bake.var_file()["inputs"] == ""


@pytest.mark.parametrize(("field", "value"), [("inputs", INPUTS), ("train", "t-abc234")])
def test_a_commit_pushed_by_hand_does_not_carry_the_inputs_or_train_of_the_request_it_left_in_place(
    bake, field, value
):
    bake.request(**{field: value})
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=bake.repo, check=True)
    subprocess.run([*git, "add", "."], cwd=bake.repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "tune sshd"], cwd=bake.repo, check=True)
    bake.run()
    assert bake.var_file()[field] == ""


def test_an_images_path_is_where_the_bake_reads_its_request_and_templates(bake):
    """images.<name>.path (IMAGE_PATH from image.yaml's ImagePath): the bot commits bake-request.json there."""
    directory = bake.repo / "images" / "base"
    directory.mkdir(parents=True)
    for name in ("variables.pkr.hcl", "base.pkr.hcl"):
        (bake.repo / name).rename(directory / name)
    bake.request(variables={"instance_type": "t3.small"})
    (bake.repo / REQUEST_FILE).rename(directory / REQUEST_FILE)
    bake.request(request_id="b-stale01")  # at the root: not this image's
    bake.env["IMAGE_PATH"] = "images/base"
    build, post = bake.run()
    assert build.returncode == 0 and post.returncode == 0, build.stderr + post.stderr
    assert "build -color=false -var-file=bakery.pkrvars.json images/base" in bake.calls()
    assert (bake.var_file()["request_id"], bake.var_file()["instance_type"]) == ("b-7f3k2q", "t3.small")
    assert bake.result().request_id == "b-7f3k2q"
    validate = bake.phase("build", bake.env, buildspec="buildspec-validate.yml")
    assert validate.returncode == 0, validate.stderr
    assert "validate -var-file=bakery.pkrvars.json images/base" in bake.calls()


def test_validate_bake_and_test_find_the_images_templates_the_same_way():
    def template_dir(name):
        return [c for c in _commands(_buildspec(name), "build") if "TEMPLATE_DIR=" in c]

    [found] = template_dir("buildspec.yml")
    assert found.startswith('if [ -n "${IMAGE_PATH:-}" ]; then TEMPLATE_DIR="$IMAGE_PATH";'), found
    assert template_dir("buildspec-validate.yml") == template_dir("buildspec-test.yml") == [found]


def test_the_pipeline_gives_validate_bake_and_test_the_images_path(templates):
    rendered = render(templates, "image", ImagePath="packer/images/web")["Pipeline"]["Properties"]["Stages"]
    for stage in ("Validate", "Bake", "Test"):
        [action] = [s["Actions"][0] for s in rendered if s["Name"] == stage]
        variables = json.loads(action["Configuration"]["EnvironmentVariables"])
        assert {"name": "IMAGE_PATH", "value": "packer/images/web", "type": "PLAINTEXT"} in variables, stage
    allowed = re.compile(templates["image"]["Parameters"]["ImagePath"]["AllowedPattern"])
    assert all(allowed.fullmatch(p) for p in ("", "packer/images/web", "web", "a/b-c_d.e"))
    assert not any(allowed.fullmatch(p) for p in ("/web", "web/", "a//b", "../web", "a/../b", "./web", "a b", "a;b"))


TRAIN = "t-abc234"  # a release train (CONTRACT §12)


def test_the_requests_train_reaches_packer_for_its_tag(bake):
    bake.request(train=TRAIN, requested_by="bakery")
    bake.run()
    assert bake.var_file()["train"] == TRAIN


@pytest.mark.parametrize("train", ["t-ab", "T-ABC234", "b-abc234", 7, "$(touch canary)"])
def test_a_train_that_is_no_train_id_is_left_out(bake, train):
    bake.request(train=train)
    bake.run()
    assert bake.var_file()["train"] == ""


def test_a_bake_commit_keeps_its_request_id(bake):
    bake.request()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=bake.repo, check=True)
    subprocess.run([*git, "add", "."], cwd=bake.repo, check=True)
    message = "bake(base): CVE\n\nBakery-Request: b-7f3k2q\nRequested-By: U012ABCDEF"
    subprocess.run([*git, "commit", "-q", "-m", message], cwd=bake.repo, check=True)
    bake.run()
    assert bake.result().request_id == "b-7f3k2q"


def test_without_a_pipeline_execution_id_nothing_is_published(bake):
    bake.request()
    del bake.env["PIPELINE_EXECUTION_ID"]
    _, post = bake.run()
    assert post.returncode != 0
    assert "PIPELINE_EXECUTION_ID is not set" in post.stderr
    assert not bake.published.exists()


# --- bakery_build.py's pieces -------------------------------------------------------------------------------


def test_the_manifest_entry_of_the_last_run_is_the_one_reported():
    manifest = {
        "builds": [
            {"packer_run_uuid": "run-1", "artifact_id": "eu-west-1:ami-00000000000000001",
             "custom_data": {"request_id": "b-aaaaaa"}},
            {"packer_run_uuid": "run-2",
             "artifact_id": "eu-west-1:ami-00000000000000002,us-east-1:ami-00000000000000003",
             "custom_data": {"request_id": "b-bbbbbb"}},
            {"packer_run_uuid": "run-3", "artifact_id": "eu-west-1:ami-00000000000000004",
             "custom_data": {"request_id": "b-cccccc"}},
        ],
        "last_run_uuid": "run-2",
    }
    assert bakery_build.manifest_amis(manifest, "b-bbbbbb") == [
        {"region": "eu-west-1", "ami_id": "ami-00000000000000002"},
        {"region": "us-east-1", "ami_id": "ami-00000000000000003"},
    ]


def test_a_manifest_left_over_from_another_request_reports_nothing():
    manifest = {"builds": [{"packer_run_uuid": "r", "artifact_id": "eu-west-1:ami-00000000000000001",
                            "custom_data": {"request_id": "b-other1"}}], "last_run_uuid": "r"}
    assert bakery_build.manifest_amis(manifest, "b-7f3k2q") == []


def test_the_pipeline_name_falls_back_to_the_codebuild_initiator():
    env = {"IMAGE_NAME": "web", "PIPELINE_EXECUTION_ID": EXECUTION_ID, "CODEBUILD_RESOLVED_SOURCE_VERSION": COMMIT,
           "CODEBUILD_INITIATOR": "codepipeline/ami-bakery-web", "CODEBUILD_BUILD_SUCCEEDING": "0"}
    result = bakery_build.bake_result({"request_id": "b-7f3k2q"}, None, env=env, commit_message=None)
    assert result["pipeline"] == "ami-bakery-web"
    (parsed,) = parse_notification(json.dumps(result))
    assert parsed.status == "failed"


def test_the_script_refuses_the_variables_the_build_and_platform_set():
    declared = {"instance_type", *bakery_build.IDENTITY_VARIABLES, *bakery_build.PLATFORM_VARIABLES}
    for key in (*bakery_build.IDENTITY_VARIABLES, *bakery_build.PLATFORM_VARIABLES):
        with pytest.raises(bakery_build.Refused):
            bakery_build.request_variables({"variables": {key: "x"}}, declared)


def test_the_scripts_variable_scan_finds_what_python_hcl2_finds():
    import hcl2

    for image_dir in (ROOT / "packer" / "images").iterdir():
        with (image_dir / "variables.pkr.hcl").open() as handle:
            parsed = {name.strip('"') for block in hcl2.load(handle)["variable"] for name in block}
        assert bakery_build.declared_variables(image_dir) == parsed


# --- the buildspecs as files, and the contract they share ------------------------------------------------------


@pytest.mark.parametrize("name", sorted(set(CONTRACT["buildspecs"].values())))
def test_each_buildspec_parses_and_never_builds_a_packer_command_line_from_values(name):
    spec = _buildspec(name)
    assert spec["version"] == 0.2
    assert spec["env"]["shell"] == "bash"
    text = "\n".join(c for phase in spec["phases"].values() for c in phase["commands"])
    assert " -var " not in text and " -var=" not in text
    assert "eval" not in text.split()


def test_the_bake_result_is_published_after_the_build_phase_whatever_happened():
    spec = _buildspec()
    post = _commands(spec, "post_build")
    assert any("bakery_build.py\" report" in c for c in post)
    publish = 'aws sns publish --topic-arn "$BAKERY_TOPIC_ARN" --message file://bake-result.json'
    assert publish in post
    assert post.index(publish) < len(post) - 1, "the build fails only after the result is out"


def test_the_bake_buildspec_declares_no_artifacts_the_action_would_drop(templates):
    # The Bake action declares no output artifact, so an `artifacts:` section would keep nothing.
    [bake] = [s for s in templates["image"]["Resources"]["Pipeline"]["Properties"]["Stages"] if s["Name"] == "Bake"]
    [action] = bake["Actions"]
    assert "OutputArtifacts" not in action
    assert "artifacts" not in _buildspec()


def test_the_contract_matches_the_bot():
    assert CONTRACT["request_file"] == REQUEST_FILE
    assert tuple(CONTRACT["stages"]) == STAGES
    assert CONTRACT["bake_result_type"] == BAKE_RESULT_TYPE == bakery_build.BAKE_RESULT_TYPE
    assert set(CONTRACT["buildspecs"]) <= set(STAGES)


def test_every_contract_variable_is_read_by_the_buildspec_or_its_script():
    used = (ROOT / "buildspec.yml").read_text() + (SCRIPTS / "bakery_build.py").read_text()
    for name in CONTRACT["env"]:
        assert name in used, name
    stage_texts = "".join((ROOT / f).read_text() for f in CONTRACT["buildspecs"].values())
    stage_texts += (SCRIPTS / "smoke_test.sh").read_text()
    declared = bakery_build.declared_variables(ROOT / "packer" / "images" / "base")
    for name in CONTRACT["packer_env"] + CONTRACT["optional_env"]:
        var = name.removeprefix("PKR_VAR_")
        assert name in stage_texts or (var in bakery_build.PLATFORM_VARIABLES and var in declared), name


def test_the_buildspecs_use_the_contracts_files_and_variables():
    bake = (ROOT / "buildspec.yml").read_text()
    assert CONTRACT["request_file"] in bake and CONTRACT["packer_var_file"] in bake
    assert _buildspec()["env"]["variables"]["SOURCE_AMI_PARAMETER"] == CONTRACT["default_source_ami_parameter"]
    assert _buildspec()["env"]["exported-variables"] == CONTRACT["exported_variables"]
    for stage, names in CONTRACT["env_by_stage"].items():
        text = (ROOT / CONTRACT["buildspecs"][stage]).read_text()
        if stage in ("Validate", "Bake"):  # both run bakery_build.py
            text += (SCRIPTS / "bakery_build.py").read_text()
        if stage == "Test":  # buildspec-test.yml runs smoke_test.sh
            text += (SCRIPTS / "smoke_test.sh").read_text()
        for name in names:
            assert f"${name}" in text or f"${{{name}" in text or f'"{name}"' in text, (stage, name)
    publish = (ROOT / CONTRACT["buildspecs"]["Publish"]).read_text()
    assert CONTRACT["ssm_parameter"].replace("{image}", "$IMAGE_NAME") in publish
    assert "bakery:released" in publish


def test_validate_resolves_the_source_ami_exactly_as_the_bake_does():
    def resolution(name):
        return [c for c in _commands(_buildspec(name), "build") if "SOURCE_AMI" in c]

    assert resolution("buildspec-validate.yml") == resolution("buildspec.yml")
    assert 'packer fmt -check -diff "$TEMPLATE_DIR"' in _commands(_buildspec("buildspec-validate.yml"), "build")


def test_the_validate_stage_checks_format_and_validates_with_the_bakes_values(bake):
    bake.request(variables={"instance_type": "t3.small"})
    result = bake.phase("build", bake.env, buildspec="buildspec-validate.yml")
    assert result.returncode == 0, result.stderr
    packer_calls = [c for c in bake.calls() if not c.startswith("aws ")]
    assert packer_calls == ["version", "fmt -check -diff .", "init .", "validate -var-file=bakery.pkrvars.json ."]
    assert not any(c.startswith("build ") for c in bake.calls())
    assert bake.var_file()["instance_type"] == "t3.small"


# --- the commit a build is of (CODEBUILD_RESOLVED_SOURCE_VERSION "may not always be available") -------------


OTHER_COMMIT = "fedcba9876543210fedcba9876543210fedcba98"


def test_the_pipeline_passes_the_source_commit_to_validate_and_bake(templates):
    stages = templates["image"]["Resources"]["Pipeline"]["Properties"]["Stages"]
    [source] = [s["Actions"][0] for s in stages if s["Name"] == "Source"]
    assert source["Namespace"] == "SourceVariables"
    rendered = render(templates, "image")["Pipeline"]["Properties"]["Stages"]
    for stage in ("Validate", "Bake"):
        [action] = [s["Actions"][0] for s in rendered if s["Name"] == stage]
        variables = json.loads(action["Configuration"]["EnvironmentVariables"])
        assert {"name": "BAKERY_COMMIT_ID", "value": "#{SourceVariables.CommitId}", "type": "PLAINTEXT"} in variables


def test_the_pipelines_commit_comes_before_codebuilds():
    env = {"BAKERY_COMMIT_ID": COMMIT, "CODEBUILD_RESOLVED_SOURCE_VERSION": OTHER_COMMIT}
    assert bakery_build.source_commit(env) == COMMIT
    assert bakery_build.source_commit({"CODEBUILD_RESOLVED_SOURCE_VERSION": OTHER_COMMIT}) == OTHER_COMMIT


def test_a_build_that_knows_no_commit_says_so():
    with pytest.raises(bakery_build.Refused, match="BAKERY_COMMIT_ID.*CODEBUILD_RESOLVED_SOURCE_VERSION"):
        bakery_build.source_commit({})
    with pytest.raises(bakery_build.Refused, match="BAKERY_COMMIT_ID is"):
        bakery_build.source_commit({"BAKERY_COMMIT_ID": "not-a-commit"})


def test_a_bake_without_codebuilds_source_version_reports_the_pipelines_commit(bake):
    bake.request()
    del bake.env["CODEBUILD_RESOLVED_SOURCE_VERSION"]
    bake.env["BAKERY_COMMIT_ID"] = COMMIT
    build, post = bake.run()
    assert build.returncode == 0, build.stderr
    assert post.returncode == 0, post.stderr
    assert bake.var_file()["commit_id"] == COMMIT
    assert json.loads(bake.published.read_text())["commit_id"] == COMMIT


def test_a_bake_without_any_commit_fails_before_packer_runs(bake):
    bake.request()
    del bake.env["CODEBUILD_RESOLVED_SOURCE_VERSION"]
    build = bake.phase("build", bake.env)
    assert build.returncode != 0
    assert "neither BAKERY_COMMIT_ID" in build.stderr
    assert not any(c.startswith("build ") for c in bake.calls())
