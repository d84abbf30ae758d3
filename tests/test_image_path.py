"""An image's `path` on the way a user takes it (CONTRACT §4, §7, §12): the configuration file names a directory,
`/bake` commits bake-request.json there and nowhere else, and two images sharing one repository each keep the
inputs fingerprint of their own directory."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.fixtures.bakery import REQUESTER, BakeryStack
from tests.test_bake_loop import request_id_of

BASE_AMI, WEB_AMI = "ami-0123456789abcdef0", "ami-0fedcba9876543210"


def sharing_one_repository(stack: BakeryStack) -> Callable[[str], str]:
    """base and web in base's repository, under images/base and images/web (written with a trailing '/')."""
    base, web = stack.repos["base"], stack.repos["web"]

    def text(written: str) -> str:
        written = written.replace(f"repository: {web}\n", f"repository: {base}\n    path: images/web/\n")
        return written.replace(
            f"repository: {base}\n    pipeline: ami-bakery-base",
            f"repository: {base}\n    path: images/base\n    pipeline: ami-bakery-base",
        )

    return text


def git(bare: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(bare), *args], capture_output=True, text=True, check=True).stdout


def test_bake_commits_the_request_at_the_images_path_and_only_there(bakery_factory):
    bakery = bakery_factory(text=sharing_one_repository(bakery_factory))
    assert bakery.services.config.images["web"].path == "images/web"
    shared = bakery.repos["base"]

    web = request_id_of(bakery.command(REQUESTER, "web CVE-2026-1234"))
    commit = bakery.commit_of(web)

    assert git(shared, "diff-tree", "--no-commit-id", "--name-only", "-r", commit).split() == [
        "images/web/bake-request.json"
    ]
    written = git(shared, "show", f"{commit}:images/web/bake-request.json")
    assert f'"request_id": "{web}"' in written and '"image": "web"' in written
    assert git(shared, "log", "-1", "--format=%s", commit).strip() == "bake(web): CVE-2026-1234"
    assert git(bakery.repos["web"], "rev-list", "--count", "main").strip() == "1"  # its own repository: untouched


def test_a_bake_of_one_image_leaves_the_fingerprint_of_the_other_in_the_same_repository(bakery_factory):
    bakery = bakery_factory(text=sharing_one_repository(bakery_factory))
    shared = bakery.repos["base"]
    base = request_id_of(bakery.command(REQUESTER, "base"))
    bakery.run_pipeline("base", bakery.commit_of(base), request_id=base, amis=[("eu-west-1", BASE_AMI)])
    bakery.wait(lambda: bakery.services.bakes.image_summary("base").get("amis"), what="base's released AMI")
    web = request_id_of(bakery.command(REQUESTER, "web first"))
    bakery.run_pipeline("web", bakery.commit_of(web), request_id=web, amis=[("eu-west-1", WEB_AMI)])
    bakery.wait(lambda: (b := bakery.services.bakes.get(web)) and b.released, what="web released")

    again = request_id_of(bakery.command(REQUESTER, "base again"))  # rewrites images/base/bake-request.json
    bakery.commit_of(again)
    assert git(shared, "show", "main:images/base/bake-request.json").count(again) == 1

    answer = bakery.command(REQUESTER, "web second")
    assert f"`web` was already baked with these inputs: `{WEB_AMI}`" in answer["text"], answer["text"]
