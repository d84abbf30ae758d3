"""The tree id behind the inputs fingerprint (CONTRACT §12), on both backends: git from the reused clone,
CodeCommit from GetFolder without a clone. Both must give git's own tree id of the same content."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from bot.adapters.git.repo import GitRepo
from bot.domain.errors import RepoError
from bot.domain.fingerprint import EMPTY_TREE, TreeEntry, fingerprint, tree_id
from tests.adapters import test_repo_contract
from tests.adapters.test_repo_contract import BRANCH, Remote
from tests.fixtures.bake_requests import bake_request as request

remote = test_repo_contract.remote  # the fixture: git on a bare repository, CodeCommit on FakeCodeCommit

GIT = ["git", "-c", "user.name=seed", "-c", "user.email=seed@example.invalid", "-c", "commit.gpgsign=false"]


def seed(remote: Remote, work: Path, files: dict[str, str], *, executable: tuple[str, ...] = ()) -> str:
    """Push a commit with these files (plus a symlink and a submodule) to the remote; git's tree id of its root."""
    if not (work / ".git").exists():
        subprocess.run(["git", "init", "-q", "-b", BRANCH, str(work)], check=True)
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    for name in executable:
        (work / name).chmod(0o755)
    if not (work / "link").is_symlink():
        os.symlink("README.md", work / "link")
    run = [*GIT, "-C", str(work)]
    subprocess.run([*run, "add", "-A"], check=True)
    subprocess.run([*run, "update-index", "--add", "--cacheinfo", f"160000,{'ab' * 20},vendor/module"], check=True)
    subprocess.run([*run, "commit", "-q", "-m", "images"], check=True)
    subprocess.run([*run, "push", "-q", "-f", str(remote.bare), f"{BRANCH}:{BRANCH}"], check=True)
    return subprocess.run([*run, "rev-parse", "HEAD^{tree}"], capture_output=True, text=True, check=True).stdout.strip()


def git_tree(work: Path, spec: str) -> str:
    return subprocess.run(
        ["git", "-C", str(work), "rev-parse", spec], capture_output=True, text=True, check=True
    ).stdout.strip()


FILES = {
    "README.md": "# images\n",
    "images.md": "the images\n",  # "images.md" < "images/": git orders a sub-tree as if its name ended in "/"
    "install.sh": "#!/bin/sh\n",
    "images/web/web.pkr.hcl": "source {}\n",
    "images/web/files/nginx.conf": "server {}\n",
}


def test_the_tree_id_is_gits_own_and_leaves_the_request_file_out(remote: Remote, tmp_path: Path) -> None:
    work = tmp_path / "work"
    root = seed(remote, work, FILES, executable=("install.sh",))
    repo = remote.open()
    assert repo.inputs_tree() == root
    assert repo.inputs_tree("images/web") == git_tree(work, "HEAD:images/web")
    assert repo.inputs_tree("/images/web/") == git_tree(work, "HEAD:images/web")

    repo.commit_request(request())  # bake-request.json now at the root of the tip
    assert remote.open().inputs_tree() == root  # another bot, another clone or client: the same value


def test_any_change_of_content_or_mode_changes_the_tree_id(remote: Remote, tmp_path: Path) -> None:
    work = tmp_path / "work"
    first = seed(remote, work, FILES)
    repo = remote.open()
    assert repo.inputs_tree() == first
    executable = seed(remote, work, {}, executable=("install.sh",))
    assert executable != first and repo.inputs_tree() == executable
    before = repo.inputs_tree("images/web")
    seed(remote, work, {"images/web/web.pkr.hcl": "source { changed }\n"})
    assert repo.inputs_tree("images/web") == git_tree(work, "HEAD:images/web") != before


def test_an_empty_repository_or_a_missing_directory_is_the_empty_tree(remote: Remote, tmp_path: Path) -> None:
    repo = remote.open()
    assert repo.inputs_tree() == EMPTY_TREE  # no branch yet
    seed(remote, tmp_path / "work", FILES)
    assert repo.inputs_tree("images/nothing-here") == EMPTY_TREE


def test_the_fingerprint_is_sha256_of_the_canonical_document() -> None:
    tree = tree_id([TreeEntry("100644", "a", "78981922613b2afb6025042ff6bd878ac1994e85")])
    assert tree == "aaff74984cccd156a469afa7d9ab10e4777beb24"  # git mktree's answer for that one entry
    one = fingerprint(tree=tree, variables={"b": "2", "a": "1"}, source_ami="ami-0123456789abcdef0")
    assert one == fingerprint(tree=tree, variables={"a": "1", "b": "2"}, source_ami="ami-0123456789abcdef0")
    assert one != fingerprint(tree=tree, variables={"a": "1", "b": "3"}, source_ami="ami-0123456789abcdef0")
    assert one != fingerprint(tree=tree, variables={"a": "1", "b": "2"}, source_ami="ami-0123456789abcdef1")
    assert one != fingerprint(tree=EMPTY_TREE, variables={"a": "1", "b": "2"}, source_ami="ami-0123456789abcdef0")
    canonical = '{"source_ami":"ami-0123456789abcdef0","tree":"' + tree + '","variables":{"a":"1","b":"2"}}'
    assert one == hashlib.sha256(canonical.encode()).hexdigest()


def test_a_bake_of_an_image_in_a_sub_directory_commits_there_and_its_tree_leaves_only_that_file_out(
    remote: Remote, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    seed(remote, work, FILES)
    web = git_tree(work, "HEAD:images/web")
    repo = remote.open()
    assert repo.inputs_tree("images/web") == web

    commit = repo.commit_request(request(1), "images/web")

    assert remote.git("show", f"{commit}:images/web/bake-request.json") == request(1).to_json()
    assert remote.git("diff-tree", "--no-commit-id", "--name-only", "-r", f"{commit}^", commit).split() == [
        "images/web/bake-request.json"
    ]
    assert remote.open().inputs_tree("images/web") == web  # another bot, another clone or client: the same value
    assert remote.open().inputs_tree() != git_tree(work, "HEAD^{tree}")  # the root holds images/web's request


def test_two_images_sharing_a_repository_do_not_move_each_others_fingerprint(remote: Remote, tmp_path: Path) -> None:
    work = tmp_path / "work"
    seed(remote, work, {**FILES, "images/base/base.pkr.hcl": "source { base }\n"})
    repo = remote.open()
    base, web = repo.inputs_tree("images/base"), repo.inputs_tree("images/web")

    repo.commit_request(request(1), "images/web")  # a bake of web
    repo.commit_request(request(2), "images/base")  # then one of base
    repo.commit_request(request(3), "images/web")  # and web again, on base's commit

    assert (remote.open().inputs_tree("images/base"), remote.open().inputs_tree("images/web")) == (base, web)
    assert "bake-request.json" not in remote.git("ls-tree", "--name-only", BRANCH).split()  # nothing at the root
    assert remote.git("show", f"{BRANCH}:images/base/bake-request.json") == request(2).to_json()


def test_a_path_outside_the_repository_is_refused_and_nothing_is_committed(remote: Remote, tmp_path: Path) -> None:
    seed(remote, tmp_path / "work", FILES)
    repo = remote.open()
    before = remote.history()
    for bad in ("../elsewhere", "images/../../x", ".git/hooks"):
        with pytest.raises(RepoError, match="image path"):
            repo.commit_request(request(1), bad)
        with pytest.raises(RepoError, match="image path"):
            repo.inputs_tree(bad)
    assert remote.history() == before


def test_git_refuses_a_path_through_a_symlink_the_repository_carries(tmp_path: Path) -> None:
    """The clone's work tree gets the file too: a directory that is a symlink would take it anywhere."""
    bare, work, outside = tmp_path / "remote.git", tmp_path / "work", tmp_path / "outside"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", BRANCH, str(bare)], check=True)
    outside.mkdir()
    (work / "images").mkdir(parents=True)
    os.symlink(outside, work / "images" / "web")
    seed(Remote(bare, lambda **kw: None), work, {"README.md": "# images\n"})
    repo = GitRepo(str(bare), BRANCH, tmp_path / "cache")
    with pytest.raises(RepoError, match="images/web is a symlink"):
        repo.commit_request(request(1), "images/web")
    assert list(outside.iterdir()) == []
