"""CodeCommitRepo: commits bake requests through the CodeCommit API, so the bot needs no git or clone."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.commits import (
    COMMIT_ATTEMPTS,
    DEFAULT_AUTHOR_EMAIL,
    DEFAULT_AUTHOR_NAME,
    backoff_delay,
    console_commit_url,
    image_dir,
)
from bot.domain.counts import count
from bot.domain.errors import RepoConflict, RepoError
from bot.domain.fingerprint import (
    EMPTY_TREE,
    MODE_EXECUTABLE,
    MODE_FILE,
    MODE_SUBMODULE,
    MODE_SYMLINK,
    MODE_TREE,
    TreeEntry,
    inputs_tree_id,
)
from bot.domain.models import TRAILER_REQUEST, BakeRequest, CommitInfo, parse_trailers
from bot.domain.repositories import request_file_at
from bot.domain.times import parse_time

log = logging.getLogger(__name__)


# Full object names only: the API answers InvalidCommitIdException for anything else anyway.
_COMMIT_ID_RE = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")

_CLOCK_SKEW_S = 600.0  # a request's commit is never older than the request, give or take clocks
_WALK = 50  # commits looked at, at most, for a request's commit made since it was asked for

# The branch moved (or was created) between get_branch and create_commit: re-read the tip and retry.
_BRANCH_MOVED = frozenset({"ParentCommitIdOutdatedException", "ParentCommitIdRequiredException"})
# GetCommit names a missing commit CommitIdDoesNotExistException; other calls say CommitDoesNotExistException.
_NO_SUCH_COMMIT = frozenset(
    {"CommitIdDoesNotExistException", "CommitDoesNotExistException", "InvalidCommitIdException"}
)


class CodeCommitRepo:
    """One CodeCommit repository branch, written with CreateCommit on the branch tip."""

    def __init__(
        self,
        client: Any,
        repository_name: str,
        branch: str,
        *,
        author_name: str = DEFAULT_AUTHOR_NAME,
        email: str = DEFAULT_AUTHOR_EMAIL,
        max_attempts: int = COMMIT_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._client = client
        self._name = repository_name
        self._branch = branch
        self._author_name = author_name
        self._email = email
        self._max_attempts = max_attempts
        self._sleep = sleep
        # Threads of this process take turns instead of racing each other for the tip: every lost
        # race costs two API calls, and ten racers can starve one of them past max_attempts.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CodeCommitRepo({self._name!r}, branch={self._branch!r})"

    def commit_request(self, request: BakeRequest, path: str = "") -> str:
        content = request.to_json().encode("utf-8")
        file_path = request_file_at(image_dir(path))
        message = request.commit_message()
        with self._lock:
            for attempt in range(1, self._max_attempts + 1):
                parent = self._tip()
                # Keyed by the request: its commit already on the branch (a retry, another replica's) is the
                # answer; CreateCommit on `parent` is refused once the tip moved, so the retry looks again.
                if parent and (landed := self._landed(parent, request)):
                    log.info(
                        "repo.commit_found repo=%s request_id=%s commit=%s", self._name, request.request_id, landed
                    )
                    return landed
                try:
                    commit_id = self._create_commit(parent, file_path, content, message)
                except ClientError as e:
                    code = _code(e)
                    if code == "NoChangeException" and parent:
                        return self._already_committed(parent, request)
                    if code == "BranchDoesNotExistException":
                        raise RepoError(
                            f"CodeCommit repository {self._name} has no branch {self._branch}; "
                            "create it (the bakery only starts a branch in an empty repository)"
                        ) from e
                    if code not in _BRANCH_MOVED:
                        raise self._error("create_commit", e) from e
                    log.info(
                        "repo.commit_retry repo=%s branch=%s request_id=%s attempt=%d reason=%s",
                        self._name,
                        self._branch,
                        request.request_id,
                        attempt,
                        code,
                    )
                except BotoCoreError as e:
                    raise self._error("create_commit", e) from e
                else:
                    log.info(
                        "repo.commit_created repo=%s branch=%s request_id=%s commit=%s attempts=%d",
                        self._name,
                        self._branch,
                        request.request_id,
                        commit_id,
                        attempt,
                    )
                    return commit_id
                if attempt < self._max_attempts:
                    self._sleep(backoff_delay(attempt))
        raise RepoConflict(
            f"CodeCommit repository {self._name} branch {self._branch} kept moving; "
            f"gave up after {count(self._max_attempts, 'attempt')}"
        )

    def commit_info(self, commit_id: str) -> CommitInfo | None:
        if not _COMMIT_ID_RE.fullmatch(commit_id):
            return None
        try:
            commit = self._client.get_commit(repositoryName=self._name, commitId=commit_id)["commit"]
        except ClientError as e:
            if _code(e) in _NO_SUCH_COMMIT:
                return None
            raise self._error("get_commit", e) from e
        except BotoCoreError as e:
            raise self._error("get_commit", e) from e
        return CommitInfo(
            commit_id=commit.get("commitId", commit_id),
            author=(commit.get("author") or {}).get("name", ""),
            author_email=(commit.get("author") or {}).get("email", ""),
            message=commit.get("message", ""),
        )

    def commit_url(self, commit_id: str) -> str:
        region = self._client.meta.region_name
        if not region or not _COMMIT_ID_RE.fullmatch(commit_id):
            return ""
        return console_commit_url(region, self._name, commit_id)

    def inputs_tree(self, path: str = "") -> str:
        """The tree id of `path` (the root when "") at the branch tip, the request file left out (§12).

        From GetFolder's entries (blob ids, modes, sub-tree ids), hashed as git hashes a tree: no clone."""
        tip = self._tip()
        if tip is None:
            return EMPTY_TREE
        try:
            folder = self._client.get_folder(
                repositoryName=self._name, commitSpecifier=tip, folderPath="/" + image_dir(path)
            )
        except ClientError as e:
            if _code(e) == "FolderDoesNotExistException":
                return EMPTY_TREE  # the image's directory is not there (yet): nothing of it is an input
            raise self._error("get_folder", e) from e
        except BotoCoreError as e:
            raise self._error("get_folder", e) from e
        return inputs_tree_id(_folder_entries(folder))

    def _tip(self) -> str | None:
        """The branch's head commit, or None while the branch does not exist (an empty repository)."""
        try:
            return str(
                self._client.get_branch(repositoryName=self._name, branchName=self._branch)["branch"]["commitId"]
            )
        except ClientError as e:
            if _code(e) == "BranchDoesNotExistException":
                return None
            raise self._error("get_branch", e) from e
        except BotoCoreError as e:
            raise self._error("get_branch", e) from e

    def _create_commit(self, parent: str | None, file_path: str, content: bytes, message: str) -> str:
        params: dict[str, Any] = {
            "repositoryName": self._name,
            "branchName": self._branch,
            "authorName": self._author_name,
            "email": self._email,
            "commitMessage": message,
            "putFiles": [{"filePath": file_path, "fileContent": content, "fileMode": "NORMAL"}],
        }
        if parent:
            params["parentCommitId"] = parent
        return str(self._client.create_commit(**params)["commitId"])

    def _landed(self, tip: str, request: BakeRequest) -> str | None:
        """The commit carrying this request's trailer, walking back from `tip` over the commits made since the
        request (less a few minutes for clocks), at most _WALK of them: a fresh bake's walk is one GetCommit."""
        try:
            since = parse_time(request.requested_at).timestamp() - _CLOCK_SKEW_S
        except ValueError:
            return None
        commit_id: str | None = tip
        for _ in range(_WALK):
            if commit_id is None:
                return None
            try:
                commit = self._client.get_commit(repositoryName=self._name, commitId=commit_id)["commit"]
            except (ClientError, BotoCoreError) as e:
                raise self._error("get_commit", e) from e
            if parse_trailers(commit.get("message", "")).get(TRAILER_REQUEST) == request.request_id:
                return commit_id
            date = str((commit.get("committer") or {}).get("date", "")).split()  # "1700000000 +0000"
            if not date or not date[0].isdigit() or float(date[0]) < since:
                return None
            commit_id = next(iter(commit.get("parents") or ()), None)
        return None

    def _already_committed(self, tip: str, request: BakeRequest) -> str:
        """NoChange means the tip already holds this exact request file: a retry of a commit that landed."""
        info = self.commit_info(tip)
        if info is not None and info.request_id == request.request_id:
            return tip
        raise RepoError(
            f"CodeCommit repository {self._name} branch {self._branch} already holds request "
            f"{request.request_id} but its tip {tip[:12]} is another commit; nothing was committed"
        )

    def _error(self, operation: str, e: Exception) -> RepoError:
        if isinstance(e, ClientError):
            err = e.response.get("Error", {})
            detail = f"{err.get('Code', 'error')}: {err.get('Message', '')}".rstrip(": ")
        else:
            detail = str(e)
        return RepoError(f"CodeCommit {operation} on repository {self._name} failed: {detail}")


def _code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


_FILE_MODES = {"NORMAL": MODE_FILE, "EXECUTABLE": MODE_EXECUTABLE, "SYMLINK": MODE_SYMLINK}


def _folder_entries(folder: dict[str, Any]) -> list[TreeEntry]:
    """A GetFolder answer as git tree entries, named by their relativePath."""
    entries: dict[str, TreeEntry] = {}
    for f in (*folder.get("files", ()), *folder.get("symbolicLinks", ())):
        mode = _FILE_MODES.get(f.get("fileMode", "NORMAL"), MODE_FILE)
        entries[f["relativePath"]] = TreeEntry(mode, f["relativePath"], f["blobId"])
    for sub in folder.get("subFolders", ()):
        entries[sub["relativePath"]] = TreeEntry(MODE_TREE, sub["relativePath"], sub["treeId"])
    for module in folder.get("subModules", ()):
        entries[module["relativePath"]] = TreeEntry(MODE_SUBMODULE, module["relativePath"], module["commitId"])
    return list(entries.values())
