"""GitRepo against real bare repositories in tmp_path: what lands on the remote branch, and when.

What every SourceRepo must do (concurrent bakes, racing processes, retries, commit_info) is in test_repo_contract.py.
"""

from __future__ import annotations

import logging
import os
import subprocess
import traceback
from pathlib import Path

import pytest

from bot.adapters.git.repo import GitRepo
from bot.domain.errors import RepoConflict, RepoError
from bot.domain.models import BakeRequest
from tests.fixtures.bake_requests import bake_request

BRANCH = "main"


def git(*args: str, cwd: Path | None = None) -> str:
    """git as a person would run it, isolated from this machine's configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_AUTHOR_NAME="Hand Pusher",
        GIT_AUTHOR_EMAIL="hand@example.com",
        GIT_COMMITTER_NAME="Hand Pusher",
        GIT_COMMITTER_EMAIL="hand@example.com",
    )
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def request(n: int = 1, **overrides: object) -> BakeRequest:
    """A request pinning a source AMI, as every bake of an image with a parent does."""
    return bake_request(n, **{"source_ami": "ami-0abc1234", **overrides})


def remote_log(bare: Path) -> list[str]:
    """Commit ids of the remote branch, newest first."""
    return git("--git-dir", str(bare), "rev-list", BRANCH).split()


def remote_file(bare: Path, commit: str) -> str:
    return git("--git-dir", str(bare), "show", f"{commit}:bake-request.json") + "\n"


def remote_message(bare: Path, commit: str) -> str:
    raw = subprocess.run(
        ["git", "--git-dir", str(bare), "cat-file", "commit", commit], capture_output=True, text=True, check=True
    ).stdout
    return raw.partition("\n\n")[2]


def push_by_hand(bare: Path, work: Path, name: str) -> str:
    """Another clone (a person, or a second bot process) commits a file and pushes it."""
    if not work.exists():
        git("clone", "--quiet", str(bare), str(work))
        git("checkout", "--quiet", "-B", BRANCH, cwd=work)
    if git("ls-remote", "--heads", "origin", BRANCH, cwd=work):
        git("pull", "--quiet", "--rebase", "origin", BRANCH, cwd=work)
    (work / name).write_text(f"{name}\n")
    git("add", name, cwd=work)
    git("commit", "--quiet", "-m", f"hand-made {name}", cwd=work)
    git("push", "--quiet", "origin", f"HEAD:{BRANCH}", cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    path = tmp_path / "remote.git"
    git("init", "--quiet", "--bare", str(path))
    return path


@pytest.fixture
def seeded(bare: Path, tmp_path: Path) -> Path:
    """A remote whose branch already has a commit with the image's own files."""
    push_by_hand(bare, tmp_path / "seed", "packer.pkr.hcl")
    return bare


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def repo(bare: Path, tmp_path: Path, sleeps: list[float]) -> GitRepo:
    return GitRepo(str(bare), BRANCH, tmp_path / "cache", sleep=sleeps.append)


# --- the commit ------------------------------------------------------------------------------------


def test_the_committed_file_is_the_request_json_byte_for_byte(repo: GitRepo, bare: Path) -> None:
    commit = repo.commit_request(request())
    assert remote_file(bare, commit) == request().to_json()


def test_the_commit_message_is_the_subject_and_the_two_trailers(repo: GitRepo, bare: Path) -> None:
    commit = repo.commit_request(request())
    assert remote_message(bare, commit) == (
        "bake(web): CVE-2026-1234\n\nBakery-Request: b-req0001\nRequested-By: U012ABCDEF\n"
    )


def test_an_empty_remote_gets_the_branch_with_the_request_as_its_first_commit(repo: GitRepo, bare: Path) -> None:
    commit = repo.commit_request(request())
    assert remote_log(bare) == [commit]
    assert git("--git-dir", str(bare), "ls-tree", "--name-only", commit) == "bake-request.json"


def test_a_bake_builds_on_the_branch_tip_and_keeps_the_image_files(repo: GitRepo, seeded: Path) -> None:
    tip = remote_log(seeded)[0]
    commit = repo.commit_request(request())
    assert remote_log(seeded) == [commit, tip]
    assert git("--git-dir", str(seeded), "ls-tree", "--name-only", commit).split() == [
        "bake-request.json",
        "packer.pkr.hcl",
    ]


def test_the_commit_is_the_bot_s_whatever_the_user_s_git_config_says(
    repo: GitRepo, bare: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for hook in ("pre-commit", "commit-msg", "pre-push"):
        (hooks / hook).write_text("#!/bin/sh\nexit 1\n")
        (hooks / hook).chmod(0o755)
    global_config = tmp_path / "gitconfig"
    global_config.write_text(
        f"[user]\n\tname = Someone Else\n\temail = else@example.com\n"
        f"[commit]\n\tgpgSign = true\n[core]\n\thooksPath = {hooks}\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(global_config))
    commit = repo.commit_request(request())
    people = git("--git-dir", str(bare), "log", "-1", "--format=%an <%ae>|%cn <%ce>|%G?", commit)
    assert people == "ami-bakery <ami-bakery@noreply.invalid>|ami-bakery <ami-bakery@noreply.invalid>|N"


# --- the reused clone ------------------------------------------------------------------------------


def test_the_clone_is_made_once_and_reused_by_later_bakes(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit_request(request(1))
    marker = repo.clone_dir / ".git" / "made-by-the-first-bake"
    marker.touch()
    repo.commit_request(request(2))
    GitRepo(str(tmp_path / "remote.git"), BRANCH, tmp_path / "cache").commit_request(request(3))  # a restart
    assert marker.exists()
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.is_dir()] == [repo.clone_dir.name]


def test_a_crashed_bake_s_leftovers_never_reach_the_next_commit(repo: GitRepo, seeded: Path) -> None:
    first = repo.commit_request(request(1))
    clone = repo.clone_dir
    (clone / "packer.pkr.hcl").write_text("half-edited\n")
    (clone / "stray.txt").write_text("untracked\n")
    (clone / "staged.txt").write_text("staged\n")
    git("add", "staged.txt", cwd=clone)
    git("commit", "--quiet", "-m", "never pushed", cwd=clone)
    (clone / "bake-request.json").write_text("{half written")
    (clone / ".git" / "index.lock").write_text("")
    (clone / ".git" / "refs" / "remotes" / "origin" / "main.lock").write_text("")

    second = repo.commit_request(request(2))

    assert remote_log(seeded)[:2] == [second, first]
    changed = git("--git-dir", str(seeded), "diff-tree", "--no-commit-id", "--name-only", "-r", first, second)
    assert changed == "bake-request.json"
    assert git("status", "--porcelain", "--ignored", cwd=clone) == ""


def test_a_cache_directory_left_half_made_is_rebuilt(repo: GitRepo, bare: Path) -> None:
    repo.clone_dir.mkdir(parents=True)
    (repo.clone_dir / "partial-download").write_text("")
    commit = repo.commit_request(request())
    assert remote_log(bare) == [commit]


# --- concurrency -----------------------------------------------------------------------------------


def test_a_push_rejected_because_another_clone_pushed_meanwhile_is_retried_on_the_new_tip(
    repo: GitRepo, seeded: Path, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_push = GitRepo._push
    theirs: list[str] = []

    def someone_pushes_first(self: GitRepo, clone: object) -> bool:
        if not theirs:
            theirs.append(push_by_hand(seeded, tmp_path / "other", "theirs.txt"))
        return real_push(self, clone)

    monkeypatch.setattr(GitRepo, "_push", someone_pushes_first)
    ours = repo.commit_request(request())

    assert remote_log(seeded)[:2] == [ours, theirs[0]]
    assert remote_file(seeded, ours) == request().to_json()
    assert len(sleeps) == 1


def test_a_branch_that_keeps_moving_ends_in_repo_conflict(
    bare: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_push = GitRepo._push
    pushed_by_hand: list[str] = []

    def someone_always_pushes_first(self: GitRepo, clone: object) -> bool:
        pushed_by_hand.append(push_by_hand(bare, tmp_path / "other", f"theirs-{len(pushed_by_hand)}.txt"))
        return real_push(self, clone)

    monkeypatch.setattr(GitRepo, "_push", someone_always_pushes_first)
    repo = GitRepo(str(bare), BRANCH, tmp_path / "cache", max_attempts=3, sleep=lambda _: None)
    with pytest.raises(RepoConflict, match="gave up after 3 attempts"):
        repo.commit_request(request())
    assert remote_log(bare) == pushed_by_hand[::-1]


def test_a_push_the_remote_refuses_is_reported_not_retried(repo: GitRepo, bare: Path, sleeps: list[float]) -> None:
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'main is frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(RepoError, match="refused") as raised:
        repo.commit_request(request())
    assert not isinstance(raised.value, RepoConflict)
    assert sleeps == []
    assert git("--git-dir", str(bare), "for-each-ref") == ""


# --- commit_info ------------------------------------------------------------------------------------


def test_commit_info_fetches_a_commit_pushed_after_the_clone_was_made(
    repo: GitRepo, bare: Path, tmp_path: Path
) -> None:
    repo.commit_request(request())
    by_hand = push_by_hand(bare, tmp_path / "person", "README.md")
    info = repo.commit_info(by_hand)
    assert info is not None and (info.author, info.subject, info.request_id) == (
        "Hand Pusher",
        "hand-made README.md",
        None,
    )


@pytest.mark.parametrize("commit_id", ["", "HEAD", "main", "--upload-pack=touch /tmp/pwned", "abc", "g" * 40])
def test_commit_info_of_something_that_is_not_a_commit_id_is_none(repo: GitRepo, commit_id: str) -> None:
    repo.commit_request(request())
    assert repo.commit_info(commit_id) is None


# --- errors and links -------------------------------------------------------------------------------


def test_errors_name_the_remote_without_its_credentials(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    repo = GitRepo("https://bakery:s3cr3t-token@127.0.0.1:9/images/web.git", BRANCH, tmp_path / "cache")
    with pytest.raises(RepoError) as raised:
        repo.commit_request(request())
    shown = "".join(traceback.format_exception(raised.value))
    assert "https://127.0.0.1:9/images/web.git" in str(raised.value)
    assert "s3cr3t" not in shown and "s3cr3t" not in caplog.text


@pytest.mark.parametrize(
    ("remote", "link"),
    [
        ("https://github.com/acme/images.git", "https://github.com/acme/images/commit/{sha}"),
        ("https://x-token:abc@github.com/acme/images", "https://github.com/acme/images/commit/{sha}"),
        ("git@github.com:acme/images.git", "https://github.com/acme/images/commit/{sha}"),
        ("https://gitlab.com/acme/infra/images.git", "https://gitlab.com/acme/infra/images/-/commit/{sha}"),
        ("ssh://git@bitbucket.org/acme/images.git", "https://bitbucket.org/acme/images/commits/{sha}"),
        (
            "https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/images",
            "https://eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/images/commit/{sha}"
            "?region=eu-west-1",
        ),
        ("https://git.example.com/acme/images.git", ""),
        ("file:///srv/git/images.git", ""),
        ("/srv/git/images.git", ""),
    ],
)
def test_commit_url_links_to_the_host_s_commit_page_when_there_is_one(tmp_path: Path, remote: str, link: str) -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert GitRepo(remote, BRANCH, tmp_path).commit_url(sha) == link.format(sha=sha)


@pytest.mark.parametrize(
    ("remote", "branch"),
    [
        ("--upload-pack=touch /tmp/pwned", BRANCH),
        ("ext::sh -c touch% /tmp/pwned", BRANCH),
        ("ftp://example.com/images.git", BRANCH),
        ("/srv/git/images.git", "main:refs/heads/other"),
        ("/srv/git/images.git", "+main"),
        ("/srv/git/images.git", "-main"),
    ],
)
def test_a_remote_or_branch_git_would_misread_is_refused_up_front(tmp_path: Path, remote: str, branch: str) -> None:
    with pytest.raises(ValueError):
        GitRepo(remote, branch, tmp_path)
