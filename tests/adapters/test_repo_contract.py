"""The SourceRepo contract, run against both backends: GitRepo on a bare repository, CodeCommitRepo on
FakeCodeCommit (whose repositories are bare git repositories too, so both are checked the same way)."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from bot.adapters.aws.codecommit import CodeCommitRepo
from bot.adapters.git.repo import GitRepo
from bot.domain.ports import SourceRepo
from bot.sandbox.aws.fake_codecommit import FakeCodeCommit
from tests.fixtures.bake_requests import bake_request as request

BRANCH = "main"
MISSING = "0123456789abcdef0123456789abcdef01234567"




@dataclass
class Remote:
    """One remote branch and a way to open another bot's adapter on it (its own clone or client, no lock)."""

    bare: Path
    open: Callable[..., SourceRepo]

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "--git-dir", str(self.bare), *args], capture_output=True, text=True, check=True
        ).stdout

    def history(self) -> list[str]:
        """Commit ids of the branch, newest first."""
        return self.git("rev-list", BRANCH).split()

    def merges(self) -> list[str]:
        return self.git("rev-list", "--merges", BRANCH).split()

    def file_at(self, commit: str) -> str:
        return self.git("show", f"{commit}:bake-request.json")


@pytest.fixture(params=["git", "codecommit"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Remote]:
    if request.param == "git":
        bare = tmp_path / "remote.git"
        subprocess.run(["git", "init", "--quiet", "--bare", "-b", BRANCH, str(bare)], check=True)
        opened = iter(range(1000))
        yield Remote(bare, lambda **kw: GitRepo(str(bare), BRANCH, tmp_path / f"cache-{next(opened)}", **kw))
        return
    with FakeCodeCommit(tmp_path / "codecommit") as fake:
        # Explicit endpoint: the suite points AWS_ENDPOINT_URL at moto, which lacks the commit calls.
        client = boto3.client("codecommit", region_name="eu-west-1", endpoint_url=fake.endpoint)
        client.create_repository(repositoryName="ami-bakery-web")
        yield Remote(
            fake.bare_path("ami-bakery-web"), lambda **kw: CodeCommitRepo(client, "ami-bakery-web", BRANCH, **kw)
        )


def test_ten_concurrent_bakes_make_ten_distinct_commits_in_a_line(remote: Remote) -> None:
    repo = remote.open()
    start = threading.Barrier(10)

    def bake(n: int) -> str:
        start.wait()
        return repo.commit_request(request(n))

    with ThreadPoolExecutor(max_workers=10) as pool:
        commits = list(pool.map(bake, range(10)))

    assert sorted(remote.history()) == sorted(commits) and len(set(commits)) == 10
    assert remote.merges() == []
    assert {remote.file_at(c) for c in commits} == {request(n).to_json() for n in range(10)}


def test_two_bot_processes_racing_for_the_tip_lose_no_commit(remote: Remote) -> None:
    # Two adapters share no lock, as two processes would not: the remote's refusal of a stale update is
    # all that orders them. Generous attempts: this is about losing nothing, not about the retry bound.
    repos = [remote.open(max_attempts=50) for _ in range(2)]
    start = threading.Barrier(2)

    def bake_four(i: int) -> list[str]:
        start.wait()
        return [repos[i].commit_request(request(i * 10 + n)) for n in range(4)]

    with ThreadPoolExecutor(max_workers=2) as pool:
        commits = [c for batch in pool.map(bake_four, range(2)) for c in batch]

    assert sorted(remote.history()) == sorted(commits) and len(set(commits)) == 8
    assert remote.merges() == []


def test_a_retry_of_a_request_that_already_landed_returns_its_commit(remote: Remote) -> None:
    first = remote.open().commit_request(request())
    assert remote.open().commit_request(request()) == first  # e.g. the bot restarted after the push
    assert remote.history() == [first]


def test_a_request_committed_again_after_later_bakes_returns_its_own_commit(remote: Remote) -> None:
    # The request file now holds a later bake of the image: the request's commit is found by its trailer.
    first = remote.open().commit_request(request(1))
    later = remote.open().commit_request(request(2))
    assert remote.open().commit_request(request(1)) == first  # e.g. another replica finishing a dead one's bake
    assert remote.history() == [later, first]


def test_two_replicas_committing_one_request_at_once_make_one_commit(remote: Remote) -> None:
    remote.open().commit_request(request(9))  # the branch exists, as it does once the image has baked
    repos = [remote.open(max_attempts=10) for _ in range(2)]  # no shared lock, as two processes have none
    start = threading.Barrier(2)

    def commit(i: int) -> str:
        start.wait()
        return repos[i].commit_request(request(1))

    with ThreadPoolExecutor(max_workers=2) as pool:
        commits = set(pool.map(commit, range(2)))

    assert len(commits) == 1 and len(remote.history()) == 2


def test_commit_info_reads_the_bake_commit_back(remote: Remote) -> None:
    repo = remote.open()
    commit = repo.commit_request(request())
    info = remote.open().commit_info(commit)
    assert info is not None
    assert (info.commit_id, info.author, info.request_id, info.requested_by) == (
        commit,
        "ami-bakery",
        "b-req0001",
        "U012ABCDEF",
    )
    assert info.message == request().commit_message()


def test_commit_info_of_a_commit_the_remote_does_not_have_is_none(remote: Remote) -> None:
    repo = remote.open()
    repo.commit_request(request())
    assert repo.commit_info(MISSING) is None
