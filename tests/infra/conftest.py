"""Shared fixtures of the infrastructure checks: the parsed CloudFormation templates and one checkov run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = ROOT / "infra" / "cloudformation"
# Where `make test` installs checkov (its own venv: it pins a boto3 the bot's venv cannot share).
DEFAULT_CHECKOV = ROOT / ".venv" / "tools" / "checkov" / "bin" / "checkov"


def template_paths() -> list[Path]:
    return sorted(TEMPLATE_DIR.glob("*.yaml"))


@pytest.fixture(scope="session")
def templates() -> dict[str, dict[str, Any]]:
    """Every template by file stem, parsed with CloudFormation's short tags (!Ref, !Sub ...) as long form."""
    parsed = {}
    for path in template_paths():
        template, problems = decode(str(path))
        assert not problems, f"{path.name} does not parse: {problems}"
        parsed[path.stem] = template
    return parsed


def run_checkov(directory: Path) -> dict[str, Any]:
    """checkov's JSON report (its CloudFormation part) over one directory; skips when checkov is not installed."""
    # Under `make test` CHECKOV names the binary make just installed, so a missing one is a failure;
    # a plain `pytest` run without it skips, saying how to get it.
    named = os.environ.get("CHECKOV")
    binary = Path(named) if named else DEFAULT_CHECKOV
    if not binary.exists():
        if named:
            pytest.fail(f"CHECKOV={named} does not exist")
        pytest.skip(f"checkov is not installed at {DEFAULT_CHECKOV}; `make test` installs it")
    result = subprocess.run(
        # --skip-download: no network; the built-in policies are all we check against.
        [str(binary), "--directory", str(directory), "--skip-download", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    # checkov exits 1 when a check fails; the report says which, so read it either way.
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    [cloudformation] = [r for r in reports if r.get("check_type") == "cloudformation"]
    return cloudformation


@pytest.fixture(scope="session")
def checkov_reports(templates: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """checkov's report for infra/ ("infra") and for each network mode's templates as CloudFormation would create
    them ("private", "public": checkov decides no condition itself), from one run per session over a directory
    holding the three: checkov takes 5 s of CPU just to start (13 s without bytecode). Each report holds the checks
    of its own files; its summary is the whole run's (no parsing error anywhere, then none in any of them). The
    tests that read it are one xdist_group, so one worker runs it."""
    from tests.infra.cfn import MODE_TEMPLATES, MODES, concrete

    scanned = tmp_path_factory.mktemp("checkov")
    shutil.copytree(ROOT / "infra", scanned / "infra")
    for mode in MODES:
        (scanned / mode).mkdir()
        for stem in MODE_TEMPLATES:
            (scanned / mode / f"{stem}.json").write_text(json.dumps(concrete(templates[stem], mode), indent=1))
    report = run_checkov(scanned)
    kinds = ("passed_checks", "failed_checks", "skipped_checks")

    def part_of(check: dict[str, Any]) -> str:
        return Path(check["file_abs_path"]).resolve().relative_to(scanned.resolve()).parts[0]

    parts = {part: {kind: [c for c in report["results"][kind] if part_of(c) == part] for kind in kinds}
             for part in ("infra", *MODES)}
    assert {part_of(c) for kind in kinds for c in report["results"][kind]} == set(parts)
    return {part: {"results": results, "summary": report["summary"]} for part, results in parts.items()}


@pytest.fixture(scope="session")
def checkov_report(checkov_reports: dict[str, Any]) -> dict[str, Any]:
    """checkov's JSON report over infra/."""
    return checkov_reports["infra"]


@pytest.fixture(scope="session")
def iam():
    """The IAM evaluator (tests/infra/iam_simulator.py); fails, never skips, when it is not installed."""
    from tests.infra.iam_simulator import IamSimulator

    try:
        simulator = IamSimulator()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield simulator
    simulator.close()
