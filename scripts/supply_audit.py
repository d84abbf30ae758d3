#!/usr/bin/env python3
"""`make audit`: pip-audit over the locked requirement files, or one line saying the database is out of reach.

    supply_audit.py PIP_AUDIT REQUIREMENTS [REQUIREMENTS ...]

Every file is a hashed, fully pinned lock (uv export of uv.lock, locks/checkov.txt), so pip-audit checks exactly
those pins: `--disable-pip --require-hashes` neither resolves nor installs anything. Exit codes: 0 no known
vulnerability, 1 some found (pip-audit's own listing above), 3 the advisory database cannot be reached.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request

# pip-audit's default vulnerability service is PyPI's JSON API; one small request tells whether it answers.
PROBE_URL = "https://pypi.org/pypi/pip/json"
UNREACHABLE = 3


def database_reachable(url: str = PROBE_URL, timeout: float = 5.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a fixed https URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def audit_command(pip_audit: str, requirements: list[str]) -> list[str]:
    command = [pip_audit, "--disable-pip", "--require-hashes", "--progress-spinner", "off"]
    for path in requirements:
        command += ["-r", path]
    return command


def main(argv: list[str], probe_url: str = PROBE_URL) -> int:
    if len(argv) < 2:
        print("usage: supply_audit.py PIP_AUDIT REQUIREMENTS [REQUIREMENTS ...]", file=sys.stderr)
        return 2
    if not database_reachable(probe_url):
        print(f"audit: the advisory database ({probe_url}) cannot be reached (offline?): nothing was checked")
        return UNREACHABLE
    result = subprocess.run(audit_command(argv[0], argv[1:]), check=False)
    return 0 if result.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
