"""Benchmark: /bake-to-commit-visible-in-remote with GitRepo's reused clone versus a fresh clone per bake.

Run: .venv/bin/python benchmarks/bench_commit.py [--commits 5000] [--files 400] [--runs 20]
Prints its figures; it is not a test. Everything happens under a temporary directory, offline.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bot.adapters.git.repo import GitRepo
from bot.domain.models import BakeRequest

BRANCH = "main"


def git_env() -> dict[str, str]:
    """git isolated from the machine's configuration, with a fixed identity."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@example.invalid",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.invalid",
    )
    return env


def git(*args: str, cwd: Path | None = None, stdin: bytes | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, check=True, env=git_env())
    return done.stdout.decode().strip()


def build_remote(bare: Path, commits: int, files: int) -> float:
    """A bare repository shaped like an image repository with a long history; returns seconds taken."""
    started = time.perf_counter()
    rng = random.Random(42)
    kinds = [("packer", "pkr.hcl"), ("scripts", "sh"), ("ansible/tasks", "yml"), ("files/etc", "conf"), ("tests", "py")]
    paths = []
    for n in range(files):
        folder, ext = rng.choice(kinds)
        paths.append(f"{folder}/{n:03d}.{ext}")
    contents = {p: "".join(f"line {i} of {p} {rng.random()}\n" for i in range(60)).encode() for p in paths}
    stream = bytearray()
    for n in range(1, commits + 1):
        message = f"change {n}\n".encode()
        stream += b"commit refs/heads/%s\nmark :%d\n" % (BRANCH.encode(), n)
        stream += b"committer bench <bench@example.invalid> %d +0000\n" % (1_700_000_000 + n * 60)
        stream += b"data %d\n%s" % (len(message), message)
        if n > 1:
            stream += b"from :%d\n" % (n - 1)
        changed = paths if n == 1 else rng.sample(paths, rng.randint(1, 3))
        for path in changed:
            if n > 1:
                contents[path] += f"change {n}: {rng.random()}\n".encode()
            stream += b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(contents[path]), contents[path])
    git("init", "--quiet", "--bare", str(bare))
    git("--git-dir", str(bare), "symbolic-ref", "HEAD", f"refs/heads/{BRANCH}")
    git("--git-dir", str(bare), "fast-import", "--quiet", stdin=bytes(stream))
    git("--git-dir", str(bare), "repack", "-a", "-d", "-q")  # as a hosting service keeps it
    return time.perf_counter() - started


def request(n: int) -> BakeRequest:
    return BakeRequest(
        request_id=f"b-bench{n:05d}",
        image="web",
        requested_by="U0BENCH",
        requested_at="2026-11-26T09:14:03Z",
        reason=f"benchmark run {n}",
        variables={"instance_type": "t3.small"},
    )


def remote_tip(bare: Path) -> str:
    return git("--git-dir", str(bare), "rev-parse", f"refs/heads/{BRANCH}")


def fresh_clone_bake(url: str, work: Path, n: int, *, shallow: bool) -> str:
    """The naive way: clone, commit, push (the clone is thrown away after the clock stops)."""
    target = work / f"fresh-{n}"
    depth = ["--depth", "1"] if shallow else []
    git("clone", "--quiet", "--branch", BRANCH, *depth, url, str(target))
    req = request(n)
    (target / "bake-request.json").write_text(req.to_json())
    git("add", "bake-request.json", cwd=target)
    git("commit", "--quiet", "-m", req.commit_message(), cwd=target)
    git("push", "--quiet", "origin", f"HEAD:refs/heads/{BRANCH}", cwd=target)
    return git("rev-parse", "HEAD", cwd=target)


def measure(runs: int, bake: Callable[[int], str], bare: Path, first: int, work: Path) -> list[float]:
    """Seconds from asking for a bake to its commit being the remote's tip, per run."""
    timings = []
    for n in range(first, first + runs):
        started = time.perf_counter()
        commit = bake(n)
        timings.append(time.perf_counter() - started)
        if remote_tip(bare) != commit:
            raise SystemExit(f"run {n}: commit {commit} is not the remote's tip")
        shutil.rmtree(work / f"fresh-{n}", ignore_errors=True)
    return timings


def report(label: str, timings: list[float]) -> float:
    p50 = statistics.median(timings)
    print(f"{label:<34} p50 {p50 * 1000:8.1f} ms   mean {statistics.fmean(timings) * 1000:8.1f} ms")
    return p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=5000, help="history length of the remote")
    parser.add_argument("--files", type=int, default=400, help="files in the remote's tree")
    parser.add_argument("--runs", type=int, default=20, help="measured bakes per method")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-commit-") as tmp:
        root = Path(tmp)
        bare = root / "remote.git"
        setup = build_remote(bare, args.commits, args.files)
        size = sum(f.stat().st_size for f in bare.rglob("*") if f.is_file())
        print(f"remote: {args.commits} commits, {args.files} files, {size / 1e6:.1f} MB, built in {setup:.1f} s")
        # file:// speaks the pack protocol like a network remote; a plain path would hardlink objects.
        url = bare.as_uri()

        repo = GitRepo(url, BRANCH, root / "cache")
        started = time.perf_counter()
        first = repo.commit_request(request(0))
        if remote_tip(bare) != first:
            raise SystemExit("warm-up commit is not the remote's tip")
        print(f"{'first bake (creates the clone)':<34} {(time.perf_counter() - started) * 1000:8.1f} ms")

        reused = report(
            "reused clone (GitRepo)", measure(args.runs, lambda n: repo.commit_request(request(n)), bare, 1, root)
        )
        fresh = report(
            "fresh clone + commit + push",
            measure(args.runs, lambda n: fresh_clone_bake(url, root, n, shallow=False), bare, 1000, root),
        )
        shallow = report(
            "fresh --depth 1 clone + push",
            measure(args.runs, lambda n: fresh_clone_bake(url, root, n, shallow=True), bare, 2000, root),
        )
        print(f"speed-up (p50): {fresh / reused:.1f}x over a fresh clone, {shallow / reused:.1f}x over a shallow one")
        repo.close()


if __name__ == "__main__":
    main()
