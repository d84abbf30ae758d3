"""CodeCommitRepo: the exact API calls (botocore Stubber) and the choice of backend; concurrency and reading
commits back are the contract suite's (test_repo_contract.py), which runs against FakeCodeCommit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from bot.adapters.aws.codecommit import CodeCommitRepo
from bot.adapters.git.repo import GitRepo
from bot.adapters.repos import open_repo
from bot.domain.errors import ConfigError, RepoConflict, RepoError
from bot.domain.models import BakeRequest
from tests.fixtures.bake_requests import bake_request as request

REGION = "eu-west-1"
TIP = "1" * 40
NEW_TIP = "2" * 40
COMMIT = "3" * 40


def create_commit_params(req: BakeRequest, parent: str | None) -> dict[str, object]:
    params: dict[str, object] = {
        "repositoryName": "ami-bakery-web",
        "branchName": "main",
        "authorName": "ami-bakery",
        "email": "ami-bakery@noreply.invalid",
        "commitMessage": req.commit_message(),
        "putFiles": [{"filePath": "bake-request.json", "fileContent": req.to_json().encode(), "fileMode": "NORMAL"}],
    }
    if parent:
        params["parentCommitId"] = parent
    return params


BRANCH_PARAMS = {"repositoryName": "ami-bakery-web", "branchName": "main"}
OLDER = "1700000000 +0000"  # 2023: before any test request was asked for


def tip_is(stub: Stubber, tip: str, *, message: str = "tune packer", date: str = OLDER, parents=("4" * 40,)) -> None:
    """The branch's tip as GetCommit tells it: the walk for a request's commit reads it (and stops when it is
    older than the request)."""
    stub.add_response(
        "get_commit",
        {"commit": {"commitId": tip, "message": message, "committer": {"date": date}, "parents": list(parents)}},
        {"repositoryName": "ami-bakery-web", "commitId": tip},
    )


@pytest.fixture
def client():
    return boto3.client("codecommit", region_name=REGION)


@pytest.fixture
def stub(client) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def repo(client, sleeps: list[float]) -> CodeCommitRepo:
    return CodeCommitRepo(client, "ami-bakery-web", "main", sleep=sleeps.append)


# --- the exact requests (Stubber) ------------------------------------------------------------------


def test_a_bake_commits_the_request_file_on_the_branch_tip(repo: CodeCommitRepo, stub: Stubber) -> None:
    stub.add_response("get_branch", {"branch": {"branchName": "main", "commitId": TIP}}, BRANCH_PARAMS)
    tip_is(stub, TIP)
    stub.add_response("create_commit", {"commitId": COMMIT, "treeId": "4" * 40}, create_commit_params(request(), TIP))
    assert repo.commit_request(request()) == COMMIT


def test_an_empty_repository_gets_a_first_commit_without_parent(repo: CodeCommitRepo, stub: Stubber) -> None:
    stub.add_client_error("get_branch", "BranchDoesNotExistException", expected_params=BRANCH_PARAMS)
    stub.add_response("create_commit", {"commitId": COMMIT}, create_commit_params(request(), None))
    assert repo.commit_request(request()) == COMMIT


def test_a_branch_that_moved_is_read_again_and_the_commit_retried_on_its_new_tip(
    repo: CodeCommitRepo, stub: Stubber, sleeps: list[float]
) -> None:
    stub.add_response("get_branch", {"branch": {"commitId": TIP}}, BRANCH_PARAMS)
    tip_is(stub, TIP)
    stub.add_client_error(
        "create_commit", "ParentCommitIdOutdatedException", expected_params=create_commit_params(request(), TIP)
    )
    stub.add_response("get_branch", {"branch": {"commitId": NEW_TIP}}, BRANCH_PARAMS)
    tip_is(stub, NEW_TIP)
    stub.add_response("create_commit", {"commitId": COMMIT}, create_commit_params(request(), NEW_TIP))
    assert repo.commit_request(request()) == COMMIT
    assert len(sleeps) == 1


def test_a_branch_that_keeps_moving_ends_in_repo_conflict(client, stub: Stubber) -> None:
    repo = CodeCommitRepo(client, "ami-bakery-web", "main", max_attempts=2, sleep=lambda _: None)
    for _ in range(2):
        stub.add_response("get_branch", {"branch": {"commitId": TIP}}, BRANCH_PARAMS)
        tip_is(stub, TIP)
        stub.add_client_error("create_commit", "ParentCommitIdOutdatedException")
    with pytest.raises(RepoConflict, match="gave up after 2 attempts"):
        repo.commit_request(request())


def test_any_other_api_error_is_a_repo_error_naming_the_repository(
    repo: CodeCommitRepo, stub: Stubber, sleeps: list[float]
) -> None:
    stub.add_response("get_branch", {"branch": {"commitId": TIP}}, BRANCH_PARAMS)
    tip_is(stub, TIP)
    stub.add_client_error("create_commit", "EncryptionKeyAccessDeniedException", "no access to the key")
    with pytest.raises(RepoError, match="ami-bakery-web.*EncryptionKeyAccessDeniedException") as raised:
        repo.commit_request(request())
    assert not isinstance(raised.value, RepoConflict) and sleeps == []


def test_a_request_whose_commit_landed_under_later_ones_returns_its_commit(repo: CodeCommitRepo, stub: Stubber) -> None:
    now = f"{int(time.time())} +0000"
    stub.add_response("get_branch", {"branch": {"commitId": TIP}}, BRANCH_PARAMS)
    tip_is(stub, TIP, message=request(2).commit_message(), date=now, parents=(COMMIT,))
    tip_is(stub, COMMIT, message=request().commit_message(), date=now)
    assert repo.commit_request(request()) == COMMIT  # no CreateCommit: the request is on the branch already


def test_a_retried_request_that_already_landed_returns_its_commit(repo: CodeCommitRepo, stub: Stubber) -> None:
    stub.add_response("get_branch", {"branch": {"commitId": TIP}}, BRANCH_PARAMS)
    tip_is(stub, TIP)
    stub.add_client_error("create_commit", "NoChangeException")
    stub.add_response(
        "get_commit",
        {"commit": {"commitId": TIP, "message": request().commit_message(), "author": {"name": "ami-bakery"}}},
        {"repositoryName": "ami-bakery-web", "commitId": TIP},
    )
    assert repo.commit_request(request()) == TIP


def test_commit_info_reads_author_and_message(repo: CodeCommitRepo, stub: Stubber) -> None:
    stub.add_response(
        "get_commit",
        {"commit": {"commitId": COMMIT, "message": request().commit_message(), "author": {"name": "ami-bakery"}}},
        {"repositoryName": "ami-bakery-web", "commitId": COMMIT},
    )
    info = repo.commit_info(COMMIT)
    assert info is not None and (info.author, info.request_id, info.requested_by) == (
        "ami-bakery",
        "b-req0001",
        "U012ABCDEF",
    )


def test_commit_info_of_a_commit_the_repository_lacks_is_none(repo: CodeCommitRepo, stub: Stubber) -> None:
    stub.add_client_error("get_commit", "CommitIdDoesNotExistException")
    assert repo.commit_info(COMMIT) is None


def test_commit_info_of_something_that_is_not_a_commit_id_asks_nothing(repo: CodeCommitRepo, stub: Stubber) -> None:
    # The Stubber raises on any call it was not given a response for.
    assert repo.commit_info("main") is None


def test_commit_url_is_the_console_page_in_the_client_s_region(repo: CodeCommitRepo) -> None:
    assert repo.commit_url(COMMIT) == (
        f"https://eu-west-1.console.aws.amazon.com/codesuite/codecommit/repositories/ami-bakery-web/commit/{COMMIT}"
        "?region=eu-west-1"
    )


# --- open_repo: choosing the backend ----------------------------------------------------------------


def test_open_repo_uses_the_codecommit_api_for_codecommit_urls(tmp_path: Path) -> None:
    made: list[str] = []

    def session_factory() -> boto3.Session:
        made.append("session")
        return boto3.Session(region_name="us-east-2")

    repo = open_repo("codecommit://ami-bakery-web", branch="main", cache_dir=tmp_path, session_factory=session_factory)
    assert isinstance(repo, CodeCommitRepo) and made == ["session"]
    assert "us-east-2" in repo.commit_url(COMMIT)


def test_open_repo_accepts_a_factory_that_hands_over_the_client_itself(tmp_path: Path, client) -> None:
    repo = open_repo("codecommit://ami-bakery-web", branch="main", cache_dir=tmp_path, session_factory=lambda: client)
    assert isinstance(repo, CodeCommitRepo) and "eu-west-1" in repo.commit_url(COMMIT)


def test_open_repo_uses_git_for_paths_and_git_urls_without_touching_aws(tmp_path: Path) -> None:
    def no_aws() -> boto3.Session:
        raise AssertionError("a git repository needs no AWS session")

    for spec in (str(tmp_path / "images.git"), "file:///srv/images.git", "https://github.com/acme/images.git"):
        assert isinstance(open_repo(spec, branch="main", cache_dir=tmp_path, session_factory=no_aws), GitRepo)


@pytest.mark.parametrize(
    ("spec", "branch"),
    [
        ("codecommit://", "main"),
        ("codecommit://has space", "main"),
        ("codecommit://" + "x" * 101, "main"),
        ("codecommit://../etc", "main"),
        ("-oProxyCommand=evil", "main"),
        ("codecommit://ami-bakery-web", "main:other"),
    ],
)
def test_open_repo_refuses_a_repository_setting_it_cannot_use(tmp_path: Path, spec: str, branch: str) -> None:
    with pytest.raises(ConfigError, match="repository"):
        open_repo(spec, branch=branch, cache_dir=tmp_path, session_factory=boto3.Session)


# --- the inputs tree (CONTRACT §12): GetFolder on the tip, no clone -------------------------------------


def test_the_inputs_tree_is_hashed_from_getfolder_on_the_branch_tip(repo: CodeCommitRepo, stub: Stubber) -> None:
    from bot.domain.fingerprint import TreeEntry, tree_id

    stub.add_response("get_branch", {"branch": {"branchName": "main", "commitId": TIP}}, BRANCH_PARAMS)

    folder = {
        "commitId": TIP,
        "folderPath": "/",
        "treeId": "9" * 40,  # the tree with bake-request.json in it: not the one the fingerprint takes
        "subFolders": [{"treeId": "a" * 40, "absolutePath": "scripts", "relativePath": "scripts"}],
        "files": [
            {"blobId": "b" * 40, "absolutePath": "base.pkr.hcl", "relativePath": "base.pkr.hcl", "fileMode": "NORMAL"},
            {"blobId": "c" * 40, "absolutePath": "run.sh", "relativePath": "run.sh", "fileMode": "EXECUTABLE"},
            {
                "blobId": "d" * 40,
                "absolutePath": "bake-request.json",
                "relativePath": "bake-request.json",
                "fileMode": "NORMAL",
            },
        ],
        "symbolicLinks": [{"blobId": "e" * 40, "absolutePath": "l", "relativePath": "l", "fileMode": "SYMLINK"}],
        "subModules": [{"commitId": "f" * 40, "absolutePath": "vendor", "relativePath": "vendor"}],
    }
    stub.add_response(
        "get_folder", folder, {"repositoryName": "ami-bakery-web", "commitSpecifier": TIP, "folderPath": "/"}
    )
    assert repo.inputs_tree() == tree_id(
        [
            TreeEntry("40000", "scripts", "a" * 40),
            TreeEntry("100644", "base.pkr.hcl", "b" * 40),
            TreeEntry("100755", "run.sh", "c" * 40),
            TreeEntry("120000", "l", "e" * 40),
            TreeEntry("160000", "vendor", "f" * 40),
        ]
    )


def test_an_inputs_tree_getfolder_cannot_read_is_a_repo_error(repo: CodeCommitRepo, stub: Stubber) -> None:
    stub.add_response("get_branch", {"branch": {"branchName": "main", "commitId": TIP}}, BRANCH_PARAMS)
    stub.add_client_error("get_folder", "EncryptionKeyAccessDeniedException", "no access to the key")
    with pytest.raises(RepoError, match="CodeCommit get_folder on repository ami-bakery-web failed"):
        repo.inputs_tree()
