#!/usr/bin/env python3
"""Installs uv, the installer, from its hashed pin, with nothing but the standard library (`make`'s first step).

    bootstrap_uv.py locks/uv.txt .venv/tools/uv

Reads the pin (uv==X with its sha256 list) from the lock, asks PyPI's simple index (JSON, PEP 691) for that
release's wheels, takes the one built for this machine whose sha256 the lock lists, downloads it, checks the
bytes against the lock's hash and unpacks the `uv` and `uvx` binaries into TARGET/bin. pip would do the same in
about three more seconds (its start-up and install). Exit code 1, and one line, when anything is unexpected (a
platform without a matching wheel, no network): the Makefile then falls back to pip with --require-hashes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import re
import sys
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

INDEX = "https://pypi.org/simple/"
PIN_RE = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)")
HASH_RE = re.compile(r"--hash=sha256:([0-9a-f]{64})")
Fetch = Callable[[str, dict[str, str]], bytes]


class Refused(Exception):
    """Why this machine's wheel cannot be taken from the lock and the index, in one line."""


def read_pin(text: str) -> tuple[str, str, set[str]]:
    """(name, version, sha256 set) of the lock's single pin."""
    pins = [(m.group(1), m.group(2)) for m in map(PIN_RE.match, text.splitlines()) if m]
    if len(pins) != 1:
        raise Refused(f"the lock must pin exactly one package, it pins {len(pins)}")
    hashes = set(HASH_RE.findall(text))
    if not hashes:
        raise Refused("the lock lists no sha256")
    return pins[0][0], pins[0][1], hashes


def platform_tags(system: str, machine: str, libc: tuple[str, str]) -> list[re.Pattern[str]]:
    """Wheel platform tags this machine runs, as patterns; [] where only pip knows (macOS, Windows, musl...)."""
    name, version = libc
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine.lower(), machine.lower())
    if system != "Linux" or name != "glibc" or not re.fullmatch(r"\d+\.\d+", version):
        return []
    major, minor = (int(part) for part in version.split("."))
    allowed = [f"manylinux_{major}_{m}_{arch}" for m in range(minor, -1, -1)]
    allowed += [f"manylinux2014_{arch}"] if (major, minor) >= (2, 17) else []
    return [re.compile(rf"(^|\.){re.escape(tag)}(\.|$)") for tag in allowed]


def pick_wheel(files: list[dict], name: str, version: str, hashes: set[str], tags: list[re.Pattern[str]]) -> dict:
    """The index entry of this release's wheel for this machine whose sha256 the lock lists."""
    prefix = f"{name.replace('-', '_')}-{version}-"
    for tag in tags:
        for entry in files:
            filename = entry.get("filename", "")
            if not (filename.startswith(prefix) and filename.endswith(".whl")):
                continue
            platform_tag = filename[: -len(".whl")].split("-")[-1]
            if tag.search(platform_tag) and entry.get("hashes", {}).get("sha256") in hashes:
                return entry
    raise Refused(f"no wheel of {name} {version} in the lock for this machine")


def default_fetch(url: str, headers: dict[str, str]) -> bytes:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - https URLs from the index
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return bytes(response.read())


def install(lock: Path, target: Path, fetch: Fetch = default_fetch, tags: list[re.Pattern[str]] | None = None) -> Path:
    """Unpacks the locked uv into target/bin; returns the uv binary's path."""
    name, version, hashes = read_pin(lock.read_text())
    if tags is None:
        tags = platform_tags(platform.system(), platform.machine(), platform.libc_ver())
    if not tags:
        raise Refused(f"no wheel tags known for {platform.system()} {platform.machine()} here")
    page = json.loads(fetch(f"{INDEX}{name}/", {"Accept": "application/vnd.pypi.simple.v1+json"}))
    entry = pick_wheel(page.get("files", []), name, version, hashes, tags)
    if not str(entry.get("url", "")).startswith("https://"):
        raise Refused(f"the index names no https URL for {entry.get('filename')}")
    data = fetch(entry["url"], {})
    digest = hashlib.sha256(data).hexdigest()
    if digest not in hashes:
        raise Refused(f"{entry['filename']}: sha256 {digest} is not in the lock")
    scripts = f"{name.replace('-', '_')}-{version}.data/scripts/"
    binaries = target / "bin"
    binaries.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        members = [m for m in wheel.namelist() if m.startswith(scripts) and "/" not in m[len(scripts) :]]
        if f"{scripts}uv" not in members:
            raise Refused(f"{entry['filename']} holds no {scripts}uv")
        for member in members:
            path = binaries / member[len(scripts) :]
            path.write_bytes(wheel.read(member))
            os.chmod(path, 0o755)  # noqa: S103 - executables, like pip installs them
    return binaries / "uv"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: bootstrap_uv.py LOCK TARGET", file=sys.stderr)
        return 2
    try:
        install(Path(argv[0]), Path(argv[1]))
    except (Refused, OSError, ValueError, zipfile.BadZipFile) as exc:
        print(f"bootstrap_uv: {exc}; installing uv with pip instead", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
