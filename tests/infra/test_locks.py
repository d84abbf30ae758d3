"""The supply chain's locks (issue #15): what every install reads, checked statically and with uv itself offline."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.infra.conftest import ROOT

LOCK = ROOT / "uv.lock"
LOCKS = ROOT / "locks"
UV = ROOT / ".venv" / "tools" / "uv" / "bin" / "uv"
MAKEFILE = ROOT / "Makefile"
PYPI = "https://pypi.org/simple"
REQUIREMENT_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?: ; .*)? \\$")


def locked_packages(text: str | None = None) -> list[dict]:
    return tomllib.loads(LOCK.read_text() if text is None else text)["package"]


def unhashed(packages: list[dict]) -> list[str]:
    """'name version: what' for every locked distribution without a sha256, or from anywhere but PyPI."""
    problems = []
    for package in packages:
        where = f"{package['name']} {package.get('version')}"
        source = package["source"]
        if source == {"editable": "."}:
            continue  # the project itself, built from this checkout
        if source.get("registry") != PYPI:
            problems.append(f"{where}: from {source}, not PyPI")
        artifacts = [package["sdist"]] if "sdist" in package else []
        artifacts += package.get("wheels", [])
        if not artifacts:
            problems.append(f"{where}: no distribution")
        bare = [a.get("url") for a in artifacts if not a.get("hash", "").startswith("sha256:")]
        problems += [f"{where}: {url} has no hash" for url in bare]
    return problems


def requirement_pins(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, [sha256 ...]) of a `uv pip compile --generate-hashes` file; each pin must be hashed."""
    pins: dict[str, tuple[str, list[str]]] = {}
    lines = path.read_text().splitlines()
    for index, line in enumerate(lines):
        if not line or line.startswith((" ", "#")):
            continue
        match = REQUIREMENT_RE.match(line)
        assert match, f"{path.name}: not an exact pin with hashes: {line}"
        hashes = []
        for follow in lines[index + 1 :]:
            if not follow.startswith("    --hash=sha256:"):
                break
            hashes.append(follow.split(":", 1)[1].rstrip(" \\"))
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), f"{path.name}: {line} has no hash"
        pins[match.group(1).lower()] = (match.group(2), hashes)
    return pins


def input_pins(path: Path) -> dict[str, str]:
    """name -> version of a locks/*.in file: every line an exact pin (extras, `name[extra]`, left out of the name)."""
    pins = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep, f"{path.name}: {line} is not an exact pin"
            pins[name.partition("[")[0].strip().lower()] = version.strip()
    return pins


def test_every_locked_distribution_is_from_pypi_with_its_sha256():
    packages = locked_packages()
    assert len(packages) > 50 and unhashed(packages) == []


def test_the_hash_check_sees_a_distribution_without_one():
    text = LOCK.read_text()
    broken = re.sub(r', hash = "sha256:[0-9a-f]{64}"', "", text, count=1)
    assert broken != text and len(unhashed(locked_packages(broken))) == 1


def test_the_lock_covers_runtime_dev_sandbox_and_the_supply_tools():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [me] = [p for p in locked_packages() if p["source"] == {"editable": "."}]
    assert set(me["optional-dependencies"]) == set(project["project"]["optional-dependencies"])
    assert set(me["dev-dependencies"]) == set(project["dependency-groups"])
    names = {p["name"] for p in locked_packages()}
    assert {"boto3", "moto", "pytest", "uv"} - names == {"uv"}  # uv installs the lock; locks/uv.txt pins it
    assert {"cyclonedx-bom", "pip-audit"} <= names


@pytest.mark.parametrize("tool", sorted(p.stem for p in LOCKS.glob("*.in")))
def test_each_tool_lock_pins_its_input_with_hashes(tool):
    pins = requirement_pins(LOCKS / f"{tool}.txt")
    for name, version in input_pins(LOCKS / f"{tool}.in").items():
        assert pins[name][0] == version, (tool, name)


def test_uv_builds_the_project_with_the_setuptools_the_image_does():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [constraint] = project["tool"]["uv"]["build-constraint-dependencies"]
    name, _, version = constraint.partition("==")
    assert input_pins(LOCKS / "build.in") == {name: version}
    assert project["build-system"]["requires"][0].startswith(f"{name}>=")


def recipes() -> list[str]:
    """The Makefile's recipe lines, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", MAKEFILE.read_text())
    return [line.strip() for line in text.splitlines() if line.startswith("\t")]


def makefile_variables() -> dict[str, str]:
    return dict(re.findall(r"^([A-Z_]+)\s*:?=\s*(.*)$", MAKEFILE.read_text(), re.MULTILINE))


def test_every_install_in_the_makefile_reads_a_lock():
    variables = makefile_variables()
    lines = [re.sub(r"\$\((SYNC|SYNC_RUN)\)", lambda m: variables[m.group(1)], line) for line in recipes()]
    installs = [line for line in lines if re.search(r"\b(pip|uv) (install|sync)\b|\buv sync\b|\$\(UV\) sync", line)]
    assert len(installs) >= 4, installs
    for line in installs:
        if "pip install" in line:
            assert re.search(r"--require-hashes .*-r locks/\w+\.txt", line) and "uv pip install" not in line, line
        elif "pip sync" in line:
            assert re.search(r"--require-hashes .*locks/\w+\.txt", line), line
        else:
            assert "sync --frozen" in line, line
    assert not [line for line in lines if re.search(r"\bpip (download|wheel)\b|uv (add|tool|run)\b", line)]


def test_make_run_and_make_test_check_the_lock_first():
    text = MAKEFILE.read_text()
    for target in ("run", "test", "install"):
        prerequisites = re.search(rf"^{target}:(.*)$", text, re.MULTILINE).group(1).split()
        assert prerequisites[0] == "lock-check", target


@pytest.fixture()
def project_copy(tmp_path: Path) -> Path:
    if not UV.exists():
        pytest.skip("uv is not installed: `make install` bootstraps it from locks/uv.txt")
    for name in ("pyproject.toml", "uv.lock", "Makefile", "README.md"):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(LOCKS, tmp_path / "locks")
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    return tmp_path


def lock_check(project: Path) -> subprocess.CompletedProcess[str]:
    # -o: uv is the checkout's own, taken as it is (never remade here); UV_CACHE_DIR: an empty cache, offline.
    return subprocess.run(
        ["make", "--no-print-directory", "-o", str(UV), f"UV={UV}", "lock-check"],
        cwd=project, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "UV_CACHE_DIR": str(project / "uv-cache"), "HOME": str(project)},
    )


def test_the_lock_matches_pyproject(project_copy):
    result = lock_check(project_copy)
    assert (result.returncode, result.stderr) == (0, ""), result.stdout + result.stderr


def test_a_dependency_added_without_relocking_fails_in_one_line(project_copy):
    pyproject = project_copy / "pyproject.toml"
    added = pyproject.read_text().replace('  "PyYAML>=6.0,<7",\n', '  "PyYAML>=6.0,<7",\n  "idna>=3",\n', 1)
    assert added != pyproject.read_text()
    pyproject.write_text(added)
    result = lock_check(project_copy)
    assert result.returncode != 0
    # make's own "make: *** [lock-check] Error 1" follows; the message itself is one line.
    [line] = [line for line in result.stderr.splitlines() if not line.startswith("make: ***")]
    assert "uv.lock does not match pyproject.toml" in line and "make relock" in line


def test_ci_audits_after_the_tests_warn_only_unless_asked_to_block():
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("make test") < ci.index("make --no-print-directory audit")
    assert 'if ! make --no-print-directory audit; then\n  [ "${BAKERY_AUDIT_BLOCKING:-0}" = 1 ] && exit 1' in ci
