"""The local CodeCommit's operations, answered from real bare git repositories under one root folder.

Each repository is `<root_dir>/<name>.git`, so commits have real ids and a local pipeline can clone or watch the
repository like any git remote.
"""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from bot.sandbox.aws.fake_codecommit.fields import (
    NAME_RE,
    SHA_RE,
    ApiError,
    branch_name,
    content,
    file_path,
    repository_name,
)
from bot.sandbox.aws.fake_codecommit.folders import get_folder
from bot.sandbox.aws.fake_codecommit.git import (
    ZERO,
    branch_tip,
    git,
    git_bytes,
    head_is_unborn,
    object_type,
    resolve_commit,
    tree_entries,
    user_info,
)

_MODES = {"NORMAL": "100644", "EXECUTABLE": "100755", "SYMLINK": "120000"}
_MODE_NAMES = {v: k for k, v in _MODES.items()}
_META_FILE = "fake-codecommit.json"


class CodeCommitRepositories:
    """The CodeCommit calls the bakery makes, on bare repositories under root_dir; `dispatch` answers one by name."""

    def __init__(self, root_dir: Path, *, region: str = "eu-west-1", account_id: str = "123456789012"):
        self.root_dir = Path(root_dir)
        self.region = region
        self.account_id = account_id
        # Writes are serialized so that "parent must be the tip" is checked and applied as one step.
        self._write_lock = threading.Lock()

    def bare_path(self, repository_name: str) -> Path:
        """The bare git repository behind a CodeCommit repository name."""
        if not NAME_RE.fullmatch(repository_name) or repository_name in (".", ".."):
            raise ValueError(f"invalid repository name {repository_name!r}")
        return self.root_dir / f"{repository_name}.git"

    # --- operations -----------------------------------------------------------------------------

    def dispatch(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = _OPERATIONS.get(operation)
        if handler is None:
            raise ApiError("UnknownOperationException", f"{operation} is not implemented by the fake")
        return handler(self, params)

    def create_repository(self, params: dict[str, Any]) -> dict[str, Any]:
        name = repository_name(params)
        bare = self.bare_path(name)
        with self._write_lock:
            if bare.exists():
                raise ApiError("RepositoryNameExistsException", f"Repository named {name} already exists")
            git(None, "init", "--quiet", "--bare", str(bare))
            meta = {
                "repositoryId": str(uuid.uuid4()),
                "repositoryDescription": params.get("repositoryDescription", ""),
                "creationDate": time.time(),
            }
            (bare / _META_FILE).write_text(json.dumps(meta))
        return {"repositoryMetadata": self._metadata(name)}

    def get_repository(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"repositoryMetadata": self._metadata(self._existing(params).name.removesuffix(".git"))}

    def get_branch(self, params: dict[str, Any]) -> dict[str, Any]:
        bare = self._existing(params)
        branch = branch_name(params)
        tip = branch_tip(bare, branch)
        if tip is None:
            raise ApiError("BranchDoesNotExistException", f"Branch {branch} does not exist")
        return {"branch": {"branchName": branch, "commitId": tip}}

    def create_commit(self, params: dict[str, Any]) -> dict[str, Any]:
        bare = self._existing(params)
        branch = branch_name(params)
        puts, deletes = params.get("putFiles") or [], params.get("deleteFiles") or []
        if not puts and not deletes:
            raise ApiError("FileEntryRequiredException", "The commit must add or delete at least one file")
        with self._write_lock:
            parent, new_branch = self._parent_for(bare, branch, params.get("parentCommitId"))
            with tempfile.TemporaryDirectory(prefix="fake-codecommit-") as tmp:
                index_env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
                git(bare, "read-tree", parent or "--empty", env=index_env)
                before = tree_entries(bare, parent)
                added: list[dict[str, str]] = []
                updated: list[dict[str, str]] = []
                deleted: list[dict[str, str]] = []
                seen: set[str] = set()
                for entry in puts:
                    path = file_path(entry.get("filePath"), seen)
                    mode = _MODES.get(entry.get("fileMode") or "NORMAL")
                    if mode is None:
                        raise ApiError("InvalidFileModeException", f"Invalid file mode for {path}")
                    if "sourceFile" in entry:
                        raise ApiError("UnknownOperationException", "sourceFile is not implemented by the fake")
                    blob = git(bare, "hash-object", "-w", "--stdin", stdin=content(entry, path))
                    try:
                        git(bare, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=index_env)
                    except subprocess.CalledProcessError as e:  # git refuses a file where a folder is
                        raise ApiError(
                            "FileNameConflictsWithDirectoryNameException", f"{path} conflicts with a folder or file"
                        ) from e
                    info = {"absolutePath": path, "blobId": blob, "fileMode": _MODE_NAMES[mode]}
                    (updated if path in before else added).append(info)
                for entry in deletes:
                    path = file_path(entry.get("filePath"), seen)
                    if path not in before:
                        raise ApiError("FileDoesNotExistException", f"{path} does not exist")
                    # Mode 0 drops the entry; --force-remove would want a work tree, which a bare repo lacks.
                    git(bare, "update-index", "--index-info", stdin=f"0 {ZERO}\t{path}\n".encode(), env=index_env)
                    mode_name = _MODE_NAMES.get(before[path][0], "NORMAL")
                    deleted.append({"absolutePath": path, "blobId": before[path][1], "fileMode": mode_name})
                tree = git(bare, "write-tree", env=index_env)
            if parent and tree == git(bare, "rev-parse", f"{parent}^{{tree}}"):
                raise ApiError("NoChangeException", "The commit cannot be created because no changes will be made")
            commit = self._commit_tree(bare, tree, parent, params)
            # The ref's expected old value: none for a new branch, else its tip, which _parent_for returned as parent.
            old_tip = ZERO if new_branch else parent
            assert old_tip is not None, f"{branch} exists but no parent was chosen"
            try:
                git(bare, "update-ref", f"refs/heads/{branch}", commit, old_tip)
            except subprocess.CalledProcessError as e:  # a git client pushed to the bare repository meanwhile
                raise ApiError("ParentCommitIdOutdatedException", f"{branch} moved") from e
            if new_branch and head_is_unborn(bare):
                # The first branch of a repository becomes its default branch, as in CodeCommit.
                git(bare, "symbolic-ref", "HEAD", f"refs/heads/{branch}")
        return {
            "commitId": commit,
            "treeId": tree,
            "filesAdded": added,
            "filesUpdated": updated,
            "filesDeleted": deleted,
        }

    def get_commit(self, params: dict[str, Any]) -> dict[str, Any]:
        bare = self._existing(params)
        commit_id = params.get("commitId")
        if not commit_id:
            raise ApiError("CommitIdRequiredException", "A commit ID is required")
        if not SHA_RE.fullmatch(commit_id):
            raise ApiError("InvalidCommitIdException", f"{commit_id} is not a valid commit ID")
        if object_type(bare, commit_id) != "commit":
            raise ApiError("CommitIdDoesNotExistException", f"Commit {commit_id} does not exist")
        raw = git_bytes(bare, "cat-file", "commit", commit_id)
        header, _, message = raw.partition(b"\n\n")
        commit: dict[str, Any] = {
            "commitId": commit_id,
            "parents": [],
            "message": message.decode(errors="replace"),
            "additionalData": "",
        }
        for line in header.decode(errors="replace").split("\n"):
            key, _, value = line.partition(" ")
            if key == "tree":
                commit["treeId"] = value
            elif key == "parent":
                commit["parents"].append(value)
            elif key in ("author", "committer"):
                commit[key] = user_info(value)
        return {"commit": commit}

    def get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        bare = self._existing(params)
        path = file_path(params.get("filePath"), set())
        specifier = params.get("commitSpecifier") or "HEAD"
        commit = resolve_commit(bare, specifier)
        if commit is None:
            raise ApiError("CommitDoesNotExistException", f"{specifier} does not exist")
        entry = tree_entries(bare, commit).get(path)
        if entry is None or entry[0] not in _MODE_NAMES:
            raise ApiError("FileDoesNotExistException", f"{path} does not exist at {specifier}")
        data = git_bytes(bare, "cat-file", "blob", entry[1])
        return {
            "commitId": commit,
            "blobId": entry[1],
            "filePath": path,
            "fileMode": _MODE_NAMES[entry[0]],
            "fileSize": len(data),
            "fileContent": base64.b64encode(data).decode(),
        }

    def get_folder(self, params: dict[str, Any]) -> dict[str, Any]:
        return get_folder(self._existing(params), params)

    # --- helpers --------------------------------------------------------------------------------

    def _existing(self, params: dict[str, Any]) -> Path:
        name = repository_name(params)
        bare = self.bare_path(name)
        if not bare.is_dir():
            raise ApiError("RepositoryDoesNotExistException", f"{name} does not exist")
        return bare

    def _metadata(self, name: str) -> dict[str, Any]:
        bare = self.bare_path(name)
        meta_path = bare / _META_FILE
        meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        created = meta.get("creationDate", bare.stat().st_mtime)
        metadata = {
            "accountId": self.account_id,
            "repositoryId": meta.get("repositoryId", str(uuid.uuid5(uuid.NAMESPACE_URL, str(bare)))),
            "repositoryName": name,
            "repositoryDescription": meta.get("repositoryDescription", ""),
            "creationDate": created,
            "lastModifiedDate": created,
            "cloneUrlHttp": f"https://git-codecommit.{self.region}.amazonaws.com/v1/repos/{name}",
            "cloneUrlSsh": f"ssh://git-codecommit.{self.region}.amazonaws.com/v1/repos/{name}",
            "Arn": f"arn:aws:codecommit:{self.region}:{self.account_id}:{name}",
        }
        if not head_is_unborn(bare):
            metadata["defaultBranch"] = git(bare, "symbolic-ref", "--short", "HEAD")
        return metadata

    def _parent_for(self, bare: Path, branch: str, parent: str | None) -> tuple[str | None, bool]:
        """The commit the new one builds on (CodeCommit's rules about parentCommitId), and whether
        the commit starts the branch."""
        if parent is not None and not SHA_RE.fullmatch(parent):
            raise ApiError("InvalidParentCommitIdException", f"{parent} is not a valid commit ID")
        if parent is not None and object_type(bare, parent) != "commit":
            raise ApiError("ParentCommitDoesNotExistException", f"{parent} does not exist")
        tip = branch_tip(bare, branch)
        if tip is None:
            if parent is None and git(bare, "for-each-ref", "--count=1", "refs/heads/"):
                # Only an empty repository gets a branch from a parentless commit.
                raise ApiError("BranchDoesNotExistException", f"Branch {branch} does not exist")
            return parent, True
        if parent is None:
            raise ApiError("ParentCommitIdRequiredException", f"{branch} exists: a parent commit ID is required")
        if parent != tip:
            raise ApiError("ParentCommitIdOutdatedException", f"{parent} is not the tip of {branch}")
        return tip, False

    def _commit_tree(self, bare: Path, tree: str, parent: str | None, params: dict[str, Any]) -> str:
        name = params.get("authorName") or "fake-codecommit"
        email = params.get("email") or ""
        now = f"{int(time.time())} +0000"
        env = {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_AUTHOR_DATE": now,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_COMMITTER_DATE": now,
        }
        parents = ["-p", parent] if parent else []
        message = (params.get("commitMessage") or "").encode()
        return git(bare, "commit-tree", tree, *parents, "-F", "-", stdin=message, env=env)


_OPERATIONS = {
    "CreateRepository": CodeCommitRepositories.create_repository,
    "GetRepository": CodeCommitRepositories.get_repository,
    "GetBranch": CodeCommitRepositories.get_branch,
    "CreateCommit": CodeCommitRepositories.create_commit,
    "GetCommit": CodeCommitRepositories.get_commit,
    "GetFile": CodeCommitRepositories.get_file,
    "GetFolder": CodeCommitRepositories.get_folder,
}
