"""The Packer templates: Packer's own checks where Debian's 1.6.6 can make them, parsed structure for the rest."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
IMAGES_DIR = ROOT / "packer" / "images"
IMAGES = sorted(p.name for p in IMAGES_DIR.iterdir() if p.is_dir())
PLUGINS_FILE = "plugins.pkr.hcl"
PACKAGE_LIST = ROOT / "packer" / "scripts" / "package_list.sh"  # what both templates run for the package list
# Settings newer than Packer 1.6.6 (REFERENCE, Packer): full validation strips only these, and the pipeline's
# Validate stage checks them with the build image's Packer.
NEWER_THAN_1_6 = (
    re.compile(r"\n[ \t]*imds_support[ \t]*=[^\n]*"),
    re.compile(r"\n[ \t]*metadata_options[ \t]*\{[^}]*\}"),
)
BAKERY_TAGS = {
    "bakery:image": "var.image_name",
    "bakery:request-id": "var.request_id",
    "bakery:commit": "var.commit_id",
    "bakery:parent-ami": "local.parent_ami",
    "bakery:requested-by": "var.requested_by",
    "bakery:pipeline-execution": "var.pipeline_execution_id",
    "bakery:inputs": "var.inputs",
}
BUILD_SET_VARIABLES = {
    "source_ami", "request_id", "requested_by", "commit_id", "pipeline_execution_id", "parent_ami", "inputs", "train"
}
PLATFORM_VALUES = {
    "region": "eu-west-1",
    "source_ami": "ami-0123456789abcdef0",
    "vpc_id": "vpc-0123456789abcdef0",
    "subnet_id": "subnet-0123456789abcdef0",
    "security_group_id": "sg-0123456789abcdef0",
    "iam_instance_profile": "ami-bakery-build",
    "kms_key_id": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "bakery_tools": str(ROOT / "packer" / "scripts"),  # the build image's /opt/bakery, here
}


def _unquote(value):
    # python-hcl2 keeps string literals quoted and expressions as "${...}".
    if isinstance(value, str):
        if value.startswith("${") and value.endswith("}"):
            return value[2:-1]
        if len(value) >= 2 and value[0] == value[-1] == '"':
            return value[1:-1]
    return value


def _load(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return hcl2.load(handle)


def _template(image: str) -> dict:
    return _load(IMAGES_DIR / image / f"{image}.pkr.hcl")


def _source(image: str) -> dict:
    (builder,) = _template(image)["source"]
    assert list(builder) == ['"amazon-ebs"']
    (config,) = builder['"amazon-ebs"'].values()
    return config


def _variables(image: str) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for path in (IMAGES_DIR / image).glob("*.pkr.hcl"):
        for block in _load(path).get("variable", []):
            found.update({_unquote(name): body for name, body in block.items()})
    return found


def _packer() -> str:
    packer = shutil.which("packer")
    if packer is None:
        pytest.skip("packer is not installed: apt-get install packer")
    return packer


def _copy_without_plugins(image: str, tmp_path: Path) -> Path:
    work = tmp_path / image
    shutil.copytree(IMAGES_DIR / image, work)
    (work / PLUGINS_FILE).unlink()
    return work


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_there_is_a_base_image_and_an_application_image_on_it():
    assert {"base", "web"} <= set(IMAGES)


@pytest.mark.parametrize("image", IMAGES)
def test_each_image_directory_is_what_its_repository_holds(image):
    files = {p.name for p in (IMAGES_DIR / image).iterdir()}
    assert {f"{image}.pkr.hcl", "variables.pkr.hcl", PLUGINS_FILE, "scripts"} <= files
    assert (IMAGES_DIR / image / "scripts" / "smoke-test.sh").is_file(), "the Test stage runs it"


# --- what Packer itself can check here ------------------------------------------------------------------


@pytest.mark.parametrize("image", IMAGES)
def test_packer_syntax_check_passes(image, tmp_path):
    result = _run(_packer(), "validate", "-syntax-only", _copy_without_plugins(image, tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("image", IMAGES)
def test_packer_full_validation_passes_apart_from_settings_newer_than_packer_1_6(image, tmp_path):
    packer = _packer()
    work = _copy_without_plugins(image, tmp_path)
    template = work / f"{image}.pkr.hcl"
    text = template.read_text()
    for pattern in NEWER_THAN_1_6:
        text, count = pattern.subn("", text)
        assert count == 1, f"expected exactly one match of {pattern.pattern}"
    template.write_text(text)
    var_file = tmp_path / "values.pkrvars.json"
    var_file.write_text(json.dumps(PLATFORM_VALUES))
    result = _run(packer, "validate", f"-var-file={var_file}", work)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("image", IMAGES)
def test_templates_are_formatted_as_packer_fmt_writes_them(image):
    result = _run(_packer(), "fmt", "-check", "-diff", IMAGES_DIR / image)
    assert result.returncode == 0, result.stdout + result.stderr


def test_packer_refuses_an_app_version_that_is_not_a_version(tmp_path):
    packer = _packer()
    work = _copy_without_plugins("web", tmp_path)
    for pattern in NEWER_THAN_1_6:
        template = work / "web.pkr.hcl"
        template.write_text(pattern.sub("", template.read_text()))
    var_file = tmp_path / "values.pkrvars.json"
    var_file.write_text(json.dumps({**PLATFORM_VALUES, "app_version": "1.0; $(reboot)"}))
    result = _run(packer, "validate", f"-var-file={var_file}", work)
    assert result.returncode != 0
    assert "app_version must be" in result.stdout + result.stderr


@pytest.mark.parametrize("image", IMAGES)
@pytest.mark.parametrize(
    "key", [None, "", "alias/ami-bakery-ami", "arn:aws:kms:eu-west-1:123456789012:alias/aws/ebs", "1234abcd-12ab"]
)
def test_packer_refuses_to_build_without_the_ami_key_s_arn(image, key, tmp_path):
    # An empty kms_key_id would encrypt with aws/ebs, whose AMIs cannot be shared with another account (§13).
    packer = _packer()
    work = _copy_without_plugins(image, tmp_path)
    template = work / f"{image}.pkr.hcl"
    for pattern in NEWER_THAN_1_6:
        template.write_text(pattern.sub("", template.read_text()))
    values = {k: v for k, v in PLATFORM_VALUES.items() if k != "kms_key_id"}
    if key is not None:
        values["kms_key_id"] = key
    var_file = tmp_path / "values.pkrvars.json"
    var_file.write_text(json.dumps(values))
    result = _run(packer, "validate", f"-var-file={var_file}", work)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "kms_key_id" in output and ("must be the ARN" in output or key is None), output


# --- structure Packer 1.6.6 cannot judge ------------------------------------------------------------------


@pytest.mark.parametrize("image", IMAGES)
def test_imdsv2_is_required_on_the_ami_and_the_build_instance(image):
    source = _source(image)
    assert _unquote(source["imds_support"]) == "v2.0"
    (metadata,) = source["metadata_options"]
    assert _unquote(metadata["http_tokens"]) == "required"
    assert _unquote(metadata["http_endpoint"]) == "enabled"


@pytest.mark.parametrize("image", IMAGES)
def test_the_ami_and_the_build_volume_are_encrypted(image):
    source = _source(image)
    assert source["encrypt_boot"] is True
    assert _unquote(source["kms_key_id"]) == "var.kms_key_id"
    (root,) = source["launch_block_device_mappings"]
    assert root["encrypted"] is True


@pytest.mark.parametrize("image", IMAGES)
def test_the_build_instance_is_reached_through_session_manager_only(image):
    source = _source(image)
    assert _unquote(source["ssh_interface"]) == "session_manager"
    assert _unquote(source["iam_instance_profile"]) == "var.iam_instance_profile"
    # No public address unless the platform gives one (build-projects.yaml: NetworkMode public, no NAT gateway).
    assert _unquote(source["associate_public_ip_address"]) == "var.associate_public_ip_address"
    public_ip = _variables(image)["associate_public_ip_address"]
    assert (_unquote(public_ip["type"]), public_ip["default"]) == ("bool", False)


@pytest.mark.parametrize("image", IMAGES)
def test_network_and_source_ami_come_from_variables_not_hard_coded_ids(image):
    source = _source(image)
    for key in ("subnet_id", "vpc_id", "security_group_id", "source_ami", "region", "instance_type"):
        assert _unquote(source[key]) == f"var.{key}"
    text = (IMAGES_DIR / image / f"{image}.pkr.hcl").read_text()
    assert not re.search(r"\b(ami|subnet|vpc|sg)-[0-9a-f]{8,17}\b", text)


@pytest.mark.parametrize("image", IMAGES)
def test_the_ami_carries_every_contract_tag_from_the_bakes_variables(image):
    (local_block,) = _template(image)["locals"]
    tags = {_unquote(k): _unquote(v) for k, v in local_block["bakery_tags"].items()}
    assert tags == BAKERY_TAGS
    assert _unquote(local_block["parent_ami"]) == 'var.parent_ami != "" ? var.parent_ami : var.source_ami'
    source = _source(image)
    for key in ("tags", "snapshot_tags"):
        assert "local.bakery_tags" in _unquote(source[key]) and "local.train_tags" in _unquote(source[key])
    for key in ("run_tags", "run_volume_tags"):
        assert "local.build_tags" in _unquote(source[key])


@pytest.mark.parametrize("image", IMAGES)
@pytest.mark.parametrize(("train", "tags"), [("t-abc234", {"bakery:train": "t-abc234"}), ("", {})])
def test_the_ami_is_tagged_with_its_train_only_when_it_is_a_hop_of_one(image, train, tags, tmp_path):
    """CONTRACT §10: `bakery:train` where it applies. Packer itself evaluates the tag map, both ways."""
    work = _copy_without_plugins(image, tmp_path)
    result = subprocess.run(
        [_packer(), "console", "-var", f"train={train}", str(work)],
        input="local.train_tags\n", capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    shown = dict(re.findall(r'"([^"]+)" = "([^"]*)"', result.stdout))
    assert shown == tags, result.stdout


@pytest.mark.parametrize("image", IMAGES)
def test_what_the_build_makes_for_itself_carries_the_leak_sweeps_marker(image):
    # Plugin v1.3.2 passes run_tags to CreateKeyPair and CreateSecurityGroup (step_key_pair.go,
    # step_security_group.go) and RunInstances; run_volume_tags to the launch's volumes.
    (local_block,) = _template(image)["locals"]
    assert _unquote(local_block["build_tags"]) == (
        'merge(local.bakery_tags, {"bakery:build" = var.pipeline_execution_id != "" ? var.pipeline_execution_id'
        ' : "local-${local.stamp}"})'
    )
    source = _source(image)
    assert "build_tags" not in _unquote(source["tags"]) and "build_tags" not in _unquote(source["snapshot_tags"])


@pytest.mark.parametrize("image", IMAGES)
def test_the_manifest_post_processor_records_the_request(image):
    (build,) = _template(image)["build"]
    (post,) = build["post-processor"]
    manifest = post['"manifest"']
    assert _unquote(manifest["output"]) == "packer-manifest.json"
    assert _unquote(manifest["custom_data"]["request_id"]) == "var.request_id"


@pytest.mark.parametrize("image", IMAGES)
def test_the_package_list_is_taken_last_and_downloaded_next_to_the_manifest(image):
    """rpm -qa after every script, downloaded to the contract's file (packer build runs where the manifest goes),
    and the instance's copy removed before Packer snapshots it."""
    contract = json.loads((ROOT / "packer" / "pipeline-contract.json").read_text())
    (build,) = _template(image)["build"]
    steps = [(kind.strip('"'), body) for provisioner in build["provisioner"] for kind, body in provisioner.items()]
    *_, (list_kind, listing), (download_kind, download), (remove_kind, remove) = steps
    assert (list_kind, download_kind, remove_kind) == ("shell", "file", "shell")
    assert _unquote(listing["script"]) == "${var.bakery_tools}/package_list.sh"  # one script for every image
    assert _unquote(_variables(image)["bakery_tools"]["default"]) == "/opt/bakery"  # where the build image has it
    [command] = [line for line in PACKAGE_LIST.read_text().splitlines() if line.startswith("rpm ")]
    assert command.startswith("rpm -qa ") and command.endswith(" | sort > /tmp/bakery-packages.txt")
    assert _unquote(download["direction"]) == "download"
    assert _unquote(download["source"]) == "/tmp/bakery-packages.txt"
    assert _unquote(download["destination"]) == contract["package_list_file"]
    assert [_unquote(line) for line in remove["inline"]] == ["rm -f /tmp/bakery-packages.txt"]
    assert not any("scripts" in body for _, body in steps[-3:])


def test_the_shared_package_list_script_asks_rpm_for_name_epoch_version_release_arch_sorted(tmp_path):
    """Run with an `rpm` stand-in that records how it was asked (a copy writes into tmp_path, not /tmp)."""
    (tmp_path / "rpm").write_text(
        '#!/usr/bin/env bash\nprintf "%s\\n" "$*" > "$RPM_ARGS"\nprintf "zlib 0:1\\nbash 0:5\\n"\n'
    )
    (tmp_path / "rpm").chmod(0o755)
    listing = tmp_path / "bakery-packages.txt"
    script = tmp_path / "package_list.sh"
    script.write_text(PACKAGE_LIST.read_text().replace("/tmp/bakery-packages.txt", str(listing)))
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "RPM_ARGS": str(tmp_path / "args")}
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    asked = (tmp_path / "args").read_text()
    assert asked == "-qa --queryformat %{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\\n\n"
    assert listing.read_text() == "bash 0:5\nzlib 0:1\n"


@pytest.mark.parametrize("image", IMAGES)
def test_provisioning_scripts_exist_and_stop_at_the_first_error(image):
    (build,) = _template(image)["build"]
    scripts = []
    for provisioner in build["provisioner"]:
        shell = provisioner.get('"shell"', {})  # the package list's "file" download has no script
        scripts += [_unquote(s) for s in shell.get("scripts", [])]
    assert scripts, "the image provisions something"
    for path in [*scripts, "${path.root}/scripts/smoke-test.sh", str(PACKAGE_LIST)]:
        script = IMAGES_DIR / image / path.replace("${path.root}/", "")
        lines = script.read_text().splitlines()
        assert lines[0] == "#!/usr/bin/env bash", script
        assert "set -euo pipefail" in lines, script


def test_the_base_image_is_hardened():
    harden = (IMAGES_DIR / "base" / "scripts" / "harden.sh").read_text()
    for promise in ("PermitRootLogin no", "PasswordAuthentication no", "enable amazon-ssm-agent", "enable auditd"):
        assert promise in harden
    assert "dnf -y --releasever=latest upgrade" in (IMAGES_DIR / "base" / "scripts" / "update.sh").read_text()


def test_the_web_image_installs_nginx_with_a_health_page_naming_the_version():
    (build,) = _template("web")["build"]
    shells = [p['"shell"'] for p in build["provisioner"] if '"shell"' in p]
    assert any("APP_VERSION=${var.app_version}" in map(_unquote, s.get("environment_vars", [])) for s in shells)
    script = (IMAGES_DIR / "web" / "scripts" / "install-nginx.sh").read_text()
    assert "dnf -y install nginx" in script and "systemctl enable nginx" in script
    assert '"$APP_VERSION"' in script


# --- variables ------------------------------------------------------------------------------------------------


def test_every_variable_bakery_yaml_lets_bake_set_is_declared_by_its_image():
    config = yaml.safe_load((ROOT / "bakery.example.yaml").read_text())
    for name, image in config["images"].items():
        declared = set(_variables(name))
        assert set(image.get("variables") or {}) <= declared, name


@pytest.mark.parametrize("image", IMAGES)
def test_the_bakes_identity_variables_are_declared(image):
    assert BUILD_SET_VARIABLES <= set(_variables(image))


def test_images_agree_on_the_variables_the_build_and_the_platform_set():
    images = {image: _variables(image) for image in IMAGES}
    shared = set.intersection(*(set(v) for v in images.values()))
    for name in sorted(shared - {"image_name", "source_ami", "instance_type"}):
        bodies = {image: variables[name] for image, variables in images.items()}
        assert len({repr(b) for b in bodies.values()}) == 1, f"variable {name} differs between images"


@pytest.mark.parametrize("image", IMAGES)
def test_required_plugins_is_only_in_plugins_file(image):
    for path in (IMAGES_DIR / image).glob("*.pkr.hcl"):
        has_packer_block = "packer" in _load(path)
        assert has_packer_block == (path.name == PLUGINS_FILE), path
    (block,) = _load(IMAGES_DIR / image / PLUGINS_FILE)["packer"]
    (plugins,) = block["required_plugins"]
    assert _unquote(plugins["amazon"]["source"]) == "github.com/hashicorp/amazon"


def test_files_every_image_carries_are_the_same_everywhere():
    for name in (PLUGINS_FILE, "scripts/update.sh", "scripts/cleanup.sh"):
        contents = {(IMAGES_DIR / image / name).read_text() for image in IMAGES}
        assert len(contents) == 1, f"{name} differs between images"
