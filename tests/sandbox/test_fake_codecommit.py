"""FakeCodeCommit: a real boto3 client gets CodeCommit's answers and errors, backed by real git."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from bot.sandbox.aws.fake_codecommit import FakeCodeCommit

REPO = "ami-bakery-base"


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeCodeCommit]:
    with FakeCodeCommit(tmp_path / "codecommit") as server:
        yield server


@pytest.fixture
def client(fake: FakeCodeCommit):
    # Explicit endpoint: the suite's AWS_ENDPOINT_URL points at moto.
    return boto3.client("codecommit", region_name="eu-west-1", endpoint_url=fake.endpoint)


@pytest.fixture
def repo(client) -> str:
    client.create_repository(repositoryName=REPO, repositoryDescription="base image")
    return REPO


def commit(client, content: bytes, parent: str | None = None, path: str = "bake-request.json", **extra) -> str:
    params = {
        "repositoryName": REPO,
        "branchName": "main",
        "authorName": "ami-bakery",
        "email": "ami-bakery@noreply.invalid",
        "commitMessage": "bake(base): test\n\nBakery-Request: b-abc123\n",
        "putFiles": [{"filePath": path, "fileContent": content, "fileMode": "NORMAL"}],
        **extra,
    }
    if parent:
        params["parentCommitId"] = parent
    return client.create_commit(**params)["commitId"]


def error_code(call) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"]


def git(bare: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(bare), *args], capture_output=True, text=True, check=True).stdout


def test_a_created_repository_is_described_like_codecommit_does(client, repo: str) -> None:
    meta = client.get_repository(repositoryName=repo)["repositoryMetadata"]
    assert (meta["repositoryName"], meta["repositoryDescription"], meta["Arn"]) == (
        repo,
        "base image",
        f"arn:aws:codecommit:eu-west-1:123456789012:{repo}",
    )


def test_creating_a_repository_twice_is_refused(client, repo: str) -> None:
    assert error_code(lambda: client.create_repository(repositoryName=repo)) == "RepositoryNameExistsException"


def test_an_unknown_repository_does_not_exist(client) -> None:
    assert error_code(lambda: client.get_branch(repositoryName="nope", branchName="main")) == (
        "RepositoryDoesNotExistException"
    )


def test_an_empty_repository_has_no_branch(client, repo: str) -> None:
    assert error_code(lambda: client.get_branch(repositoryName=repo, branchName="main")) == (
        "BranchDoesNotExistException"
    )


def test_the_first_commit_creates_the_branch_in_a_real_bare_repository(client, repo: str, fake: FakeCodeCommit) -> None:
    first = commit(client, b'{"request_id": "b-abc123"}\n')
    assert client.get_branch(repositoryName=repo, branchName="main")["branch"]["commitId"] == first
    bare = fake.bare_path(repo)
    assert git(bare, "show", f"{first}:bake-request.json") == '{"request_id": "b-abc123"}\n'
    assert git(bare, "log", "-1", "--format=%an <%ae>%n%B", first) == (
        "ami-bakery <ami-bakery@noreply.invalid>\nbake(base): test\n\nBakery-Request: b-abc123\n\n"
    )


def test_a_commit_on_the_tip_reports_what_it_changed(client, repo: str) -> None:
    first = commit(client, b"one\n")
    answer = client.create_commit(
        repositoryName=repo,
        branchName="main",
        parentCommitId=first,
        putFiles=[
            {"filePath": "bake-request.json", "fileContent": b"two\n", "fileMode": "NORMAL"},
            {"filePath": "scripts/setup.sh", "fileContent": b"#!/bin/sh\n", "fileMode": "EXECUTABLE"},
        ],
    )
    assert [f["absolutePath"] for f in answer["filesUpdated"]] == ["bake-request.json"]
    assert [(f["absolutePath"], f["fileMode"]) for f in answer["filesAdded"]] == [("scripts/setup.sh", "EXECUTABLE")]


def test_a_commit_can_delete_a_file(client, repo: str, fake: FakeCodeCommit) -> None:
    first = commit(client, b"one\n", path="old.txt")
    second = client.create_commit(
        repositoryName=repo,
        branchName="main",
        parentCommitId=first,
        putFiles=[{"filePath": "new.txt", "fileContent": b"two\n"}],
        deleteFiles=[{"filePath": "old.txt"}],
    )
    assert [f["absolutePath"] for f in second["filesDeleted"]] == ["old.txt"]
    assert git(fake.bare_path(repo), "ls-tree", "--name-only", second["commitId"]) == "new.txt\n"


def test_a_commit_on_a_stale_parent_is_outdated(client, repo: str) -> None:
    first = commit(client, b"one\n")
    commit(client, b"two\n", parent=first)
    assert error_code(lambda: commit(client, b"three\n", parent=first)) == "ParentCommitIdOutdatedException"


def test_a_commit_without_parent_on_an_existing_branch_needs_one(client, repo: str) -> None:
    commit(client, b"one\n")
    assert error_code(lambda: commit(client, b"two\n")) == "ParentCommitIdRequiredException"


def test_a_commit_that_changes_nothing_is_refused(client, repo: str) -> None:
    first = commit(client, b"one\n")
    assert error_code(lambda: commit(client, b"one\n", parent=first)) == "NoChangeException"


def test_a_path_outside_the_repository_is_invalid(client, repo: str) -> None:
    assert error_code(lambda: commit(client, b"x", path="../escape")) == "InvalidPathException"


def test_get_commit_answers_parents_author_and_message(client, repo: str) -> None:
    first = commit(client, b"one\n")
    second = commit(client, b"two\n", parent=first)
    found = client.get_commit(repositoryName=repo, commitId=second)["commit"]
    assert (found["parents"], found["author"]["name"], found["message"]) == (
        [first],
        "ami-bakery",
        "bake(base): test\n\nBakery-Request: b-abc123\n",
    )


def test_get_commit_of_an_unknown_commit_says_it_does_not_exist(client, repo: str) -> None:
    assert error_code(lambda: client.get_commit(repositoryName=repo, commitId="0" * 40)) == (
        "CommitIdDoesNotExistException"
    )


def test_get_file_returns_the_bytes_at_a_branch_or_commit(client, repo: str) -> None:
    first = commit(client, b"one\n")
    commit(client, b"two\n", parent=first)
    at_branch = client.get_file(repositoryName=repo, commitSpecifier="main", filePath="bake-request.json")
    at_first = client.get_file(repositoryName=repo, commitSpecifier=first, filePath="/bake-request.json")
    assert (at_branch["fileContent"], at_first["fileContent"], at_first["commitId"]) == (b"two\n", b"one\n", first)


def test_get_file_of_a_missing_file_says_it_does_not_exist(client, repo: str) -> None:
    commit(client, b"one\n")
    assert error_code(lambda: client.get_file(repositoryName=repo, filePath="nope.txt")) == (
        "FileDoesNotExistException"
    )


def test_a_git_client_sees_the_api_s_commits(client, repo: str, fake: FakeCodeCommit, tmp_path: Path) -> None:
    # What the sandbox's local pipeline relies on: the repository is an ordinary git remote.
    first = commit(client, b"one\n")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(fake.bare_path(repo)), str(clone)], check=True)
    assert (clone / "bake-request.json").read_text() == "one\n"
    assert (
        subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        == first
    )


def test_an_operation_the_fake_lacks_is_an_error_not_a_hang(fake: FakeCodeCommit) -> None:
    req = urllib.request.Request(
        fake.endpoint + "/",
        data=b"{}",
        headers={"X-Amz-Target": "CodeCommit_20150413.MergeBranchesByFastForward"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(req, timeout=5)
    assert raised.value.code == 400
    assert json.loads(raised.value.read())["__type"] == "UnknownOperationException"
