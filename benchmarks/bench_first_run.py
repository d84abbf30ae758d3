"""Benchmark: a newcomer's first `make run`, from `git clone` to the sandbox page's address, with empty caches.

Run: python3 benchmarks/bench_first_run.py [--before 3300e5b] [--after HEAD] [--runs 1] [--only before|after]
Prints its figures; it is not a test. Each run clones this repository (a local clone: the network is only used
for packages) into a temporary directory, checks out the commit, points every package cache (uv, pip, XDG) at a
new empty directory, starts `make run` and stops the clock at the line `... open http://127.0.0.1:8080`. The
machine's pip configuration is left as it is, so "before" (pip) reads whatever local wheel mirror it names;
uv reads no pip configuration. The sandbox listens on port 8080, so nothing else may hold it.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The last commit whose `make run` installed with pip, without a lock (issue #15 came after it).
PIP_COMMIT = "3300e5b"
ADDRESS = re.compile(r"open (http://\S+)")
# Where each phase starts, by the command line make echoes (after: uv; before: pip).
PHASES = (
    ("venv", re.compile(r"-m venv")),
    ("uv", re.compile(r"bootstrap_uv\.py")),
    ("install", re.compile(r"\buv sync\b|pip install --quiet -e")),
    ("start", re.compile(r"bin/bakery sandbox")),
)
TIMEOUT = 300.0


def port_free(port: int = 8080) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def first_run(commit: str) -> tuple[float, dict[str, float], str]:
    """(seconds to the address, seconds per phase, the address) of one fresh clone's `make run`."""
    with tempfile.TemporaryDirectory(prefix="bench-first-run-") as tmp:
        base = Path(tmp)
        env = dict(os.environ)
        env.update(
            UV_CACHE_DIR=str(base / "uv-cache"),
            PIP_CACHE_DIR=str(base / "pip-cache"),
            XDG_CACHE_HOME=str(base / "xdg-cache"),
            npm_config_cache=str(base / "npm-cache"),
        )
        env.pop("VIRTUAL_ENV", None)
        clone = base / "clone"
        start = time.monotonic()
        subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(clone)], check=True, env=env)
        subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", commit], check=True, env=env)
        proc = subprocess.Popen(
            ["make", "run"], cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        address, output, started = "", [], {"clone": 0.0}
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                output.append(line)
                for phase, pattern in PHASES:
                    if phase not in started and pattern.search(line):
                        started[phase] = time.monotonic() - start
                match = ADDRESS.search(line)
                if match:
                    address = match.group(1)
                    break
                if time.monotonic() - start > TIMEOUT:
                    break
            elapsed = time.monotonic() - start
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if not address:
            raise SystemExit(f"{commit}: `make run` printed no address:\n{''.join(output[-20:])}")
        marks = sorted(started.items(), key=lambda item: item[1]) + [("", elapsed)]
        phases = {name: end - begin for (name, begin), (_, end) in zip(marks, marks[1:], strict=False)}
        return elapsed, phases, address


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=PIP_COMMIT, help=f"the commit measured as before (default {PIP_COMMIT})")
    parser.add_argument("--after", default="HEAD", help="the commit measured as after (default HEAD)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--only", choices=("before", "after"), help="measure one side only")
    args = parser.parse_args()
    if not port_free():
        raise SystemExit("port 8080 is in use: stop the sandbox that holds it first")
    for label, commit in (("before", args.before), ("after", args.after)):
        if args.only not in (None, label):
            continue
        times = []
        for _ in range(args.runs):
            elapsed, phases, address = first_run(commit)
            times.append(elapsed)
            parts = ", ".join(f"{name} {seconds:.1f}" for name, seconds in phases.items())
            load = os.getloadavg()[0]
            line = f"{label} ({commit}): {elapsed:5.1f} s from git clone to {address} ({parts}; load {load:.1f})"
            print(line, flush=True)
        if args.runs > 1:
            print(f"{label}: median {statistics.median(times):.1f} s, min {min(times):.1f}, max {max(times):.1f}")


if __name__ == "__main__":
    main()
