#!/usr/bin/env python3
"""`make audit`: pip-audit over the locked requirement files, or one line saying the database is out of reach.

    supply_audit.py PIP_AUDIT REQUIREMENTS [REQUIREMENTS ...]

Every file is a hashed, fully pinned lock (uv export of uv.lock, locks/checkov.txt), so pip-audit checks exactly
those pins: `--disable-pip --require-hashes` neither resolves nor installs anything. Exit codes: 0 no known
vulnerability, 1 some found (pip-audit's own listing above), 3 the advisory database cannot be reached.
"""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.error
import urllib.request

# pip-audit's default vulnerability service is PyPI's JSON API, per release: one request for the lock's first pin
# tells whether it answers (a mirror that serves packages but not that API is as offline as no network).
PROBE_URL = "https://pypi.org/pypi/{name}/{version}/json"
PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", re.MULTILINE)
UNREACHABLE = 3


def database_reachable(url: str, timeout: float = 5.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a fixed https URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def audit_command(pip_audit: str, requirements: str) -> list[str]:
    """One lock per run: the locks are separate environments (checkov's has its own boto3)."""
    # --strict: a pin the service cannot look up fails the audit instead of being skipped as "not found".
    return [pip_audit, "--strict", "--disable-pip", "--require-hashes", "--progress-spinner", "off", "-r", requirements]


def probe_url(requirements: str, template: str = PROBE_URL) -> str:
    """The advisory service's URL for the first pin of a lock file."""
    with open(requirements, encoding="utf-8") as handle:
        match = PIN_RE.search(handle.read())
    if not match:
        raise ValueError(f"{requirements} pins nothing")
    return template.format(name=match.group(1), version=match.group(2))


def main(argv: list[str], template: str = PROBE_URL) -> int:
    if len(argv) < 2:
        print("usage: supply_audit.py PIP_AUDIT REQUIREMENTS [REQUIREMENTS ...]", file=sys.stderr)
        return 2
    url = probe_url(argv[1], template)
    if not database_reachable(url):
        print(f"audit: the advisory database cannot be reached ({url} does not answer): nothing was checked")
        return UNREACHABLE
    found = []
    for requirements in argv[1:]:
        print(f"audit: {requirements}", flush=True)
        if subprocess.run(audit_command(argv[0], requirements), check=False).returncode != 0:
            found.append(requirements)
    if found:
        print(f"audit: known vulnerabilities (or an error above) in {', '.join(found)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
