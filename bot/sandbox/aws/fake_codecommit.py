"""A local CodeCommit endpoint (JSON 1.1 wire protocol) backed by real bare git repositories.

moto lacks the commit calls (CreateCommit, GetBranch, GetCommit, GetFile), so the sandbox and the tests
point a real boto3 client here instead. Each repository is `<root_dir>/<name>.git`, so commits have real
ids and a local pipeline can clone or watch the repository like any git remote.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import subprocess
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bot.sandbox.local_server import LocalServer

log = logging.getLogger(__name__)

TARGET_PREFIX = "CodeCommit_20150413."
_NAME_RE = re.compile(r"^[\w.-]{1,100}$", re.ASCII)
_BRANCH_RE = re.compile(r"^(?![-./])(?!.*(?:\.\.|//|/\.|@\{|\.lock/))[\w./-]{1,256}(?<![./])(?<!\.lock)$", re.ASCII)
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_MODES = {"NORMAL": "100644", "EXECUTABLE": "100755", "SYMLINK": "120000"}
_MODE_NAMES = {v: k for k, v in _MODES.items()}
_ZERO = "0" * 40
_META_FILE = "fake-codecommit.json"


class ApiError(Exception):
    """An error answered as CodeCommit does: HTTP 400 and {"__type": code, "message": ...}."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class FakeCodeCommit(LocalServer):
    """The CodeCommit calls the bakery makes, served on 127.0.0.1 from bare repositories under root_dir."""

    _thread_name = "fake-codecommit"
    _not_running = "FakeCodeCommit is not started"
    _join_timeout = 10.0

    def __init__(self, root_dir: Path, *, region: str = "eu-west-1", account_id: str = "123456789012"):
        super().__init__()
        self.root_dir = Path(root_dir)
        self.region = region
        self.account_id = account_id
        # Writes are serialized so that "parent must be the tip" is checked and applied as one step.
        self._write_lock = threading.Lock()

    # --- lifecycle ------------------------------------------------------------------------------

    def _bind(self) -> ThreadingHTTPServer:
        self.root_dir.mkdir(parents=True, exist_ok=True)
        fake = self

        class Handler(_Handler):
            api = fake

        return ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def endpoint(self) -> str:
        return self._url()

    def bare_path(self, repository_name: str) -> Path:
        """The bare git repository behind a CodeCommit repository name."""
        if not _NAME_RE.fullmatch(repository_name) or repository_name in (".", ".."):
            raise ValueError(f"invalid repository name {repository_name!r}")
        return self.root_dir / f"{repository_name}.git"

    # --- operations -----------------------------------------------------------------------------

    def dispatch(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = _OPERATIONS.get(operation)
        if handler is None:
            raise ApiError("UnknownOperationException", f"{operation} is not implemented by the fake")
        return handler(self, params)

    def create_repository(self, params: dict[str, Any]) -> dict[str, Any]:
        name = _repository_name(params)
        bare = self.bare_path(name)
        with self._write_lock:
            if bare.exists():
                raise ApiError("RepositoryNameExistsException", f"Repository named {name} already exists")
            _git(None, "init", "--quiet", "--bare", str(bare))
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
        branch = _branch_name(params)
        tip = _tip(bare, branch)
        if tip is None:
            raise ApiError("BranchDoesNotExistException", f"Branch {branch} does not exist")
        return {"branch": {"branchName": branch, "commitId": tip}}

    def create_commit(self, params: dict[str, Any]) -> dict[str, Any]:
        bare = self._existing(params)
        branch = _branch_name(params)
        puts, deletes = params.get("putFiles") or [], params.get("deleteFiles") or []
        if not puts and not deletes:
            raise ApiError("FileEntryRequiredException", "The commit must add or delete at least one file")
        with self._write_lock:
            parent, new_branch = self._parent_for(bare, branch, params.get("parentCommitId"))
            with tempfile.TemporaryDirectory(prefix="fake-codecommit-") as tmp:
                index_env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
                _git(bare, "read-tree", parent or "--empty", env=index_env)
                before = _tree_entries(bare, parent)
                added, updated, deleted = [], [], []
                seen: set[str] = set()
                for entry in puts:
                    path = _file_path(entry.get("filePath"), seen)
                    mode = _MODES.get(entry.get("fileMode") or "NORMAL")
                    if mode is None:
                        raise ApiError("InvalidFileModeException", f"Invalid file mode for {path}")
                    if "sourceFile" in entry:
                        raise ApiError("UnknownOperationException", "sourceFile is not implemented by the fake")
                    blob = _git(bare, "hash-object", "-w", "--stdin", stdin=_content(entry, path))
                    try:
                        _git(bare, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=index_env)
                    except subprocess.CalledProcessError as e:  # git refuses a file where a folder is
                        raise ApiError(
                            "FileNameConflictsWithDirectoryNameException", f"{path} conflicts with a folder or file"
                        ) from e
                    info = {"absolutePath": path, "blobId": blob, "fileMode": _MODE_NAMES[mode]}
                    (updated if path in before else added).append(info)
                for entry in deletes:
                    path = _file_path(entry.get("filePath"), seen)
                    if path not in before:
                        raise ApiError("FileDoesNotExistException", f"{path} does not exist")
                    # Mode 0 drops the entry; --force-remove would want a work tree, which a bare repo lacks.
                    _git(bare, "update-index", "--index-info", stdin=f"0 {_ZERO}\t{path}\n".encode(), env=index_env)
                    mode_name = _MODE_NAMES.get(before[path][0], "NORMAL")
                    deleted.append({"absolutePath": path, "blobId": before[path][1], "fileMode": mode_name})
                tree = _git(bare, "write-tree", env=index_env)
            if parent and tree == _git(bare, "rev-parse", f"{parent}^{{tree}}"):
                raise ApiError("NoChangeException", "The commit cannot be created because no changes will be made")
            commit = self._commit_tree(bare, tree, parent, params)
            try:
                _git(bare, "update-ref", f"refs/heads/{branch}", commit, _ZERO if new_branch else parent)
            except subprocess.CalledProcessError as e:  # a git client pushed to the bare repository meanwhile
                raise ApiError("ParentCommitIdOutdatedException", f"{branch} moved") from e
            if new_branch and _head_is_unborn(bare):
                # The first branch of a repository becomes its default branch, as in CodeCommit.
                _git(bare, "symbolic-ref", "HEAD", f"refs/heads/{branch}")
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
        if not _SHA_RE.fullmatch(commit_id):
            raise ApiError("InvalidCommitIdException", f"{commit_id} is not a valid commit ID")
        if _object_type(bare, commit_id) != "commit":
            raise ApiError("CommitIdDoesNotExistException", f"Commit {commit_id} does not exist")
        raw = _git_bytes(bare, "cat-file", "commit", commit_id)
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
                commit[key] = _user_info(value)
        return {"commit": commit}

    def get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        bare = self._existing(params)
        path = _file_path(params.get("filePath"), set())
        specifier = params.get("commitSpecifier") or "HEAD"
        commit = _resolve_commit(bare, specifier)
        if commit is None:
            raise ApiError("CommitDoesNotExistException", f"{specifier} does not exist")
        entry = _tree_entries(bare, commit).get(path)
        if entry is None or entry[0] not in _MODE_NAMES:
            raise ApiError("FileDoesNotExistException", f"{path} does not exist at {specifier}")
        content = _git_bytes(bare, "cat-file", "blob", entry[1])
        return {
            "commitId": commit,
            "blobId": entry[1],
            "filePath": path,
            "fileMode": _MODE_NAMES[entry[0]],
            "fileSize": len(content),
            "fileContent": base64.b64encode(content).decode(),
        }

    # --- helpers --------------------------------------------------------------------------------

    def _existing(self, params: dict[str, Any]) -> Path:
        name = _repository_name(params)
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
        if not _head_is_unborn(bare):
            metadata["defaultBranch"] = _git(bare, "symbolic-ref", "--short", "HEAD")
        return metadata

    def _parent_for(self, bare: Path, branch: str, parent: str | None) -> tuple[str | None, bool]:
        """The commit the new one builds on (CodeCommit's rules about parentCommitId), and whether
        the commit starts the branch."""
        if parent is not None and not _SHA_RE.fullmatch(parent):
            raise ApiError("InvalidParentCommitIdException", f"{parent} is not a valid commit ID")
        if parent is not None and _object_type(bare, parent) != "commit":
            raise ApiError("ParentCommitDoesNotExistException", f"{parent} does not exist")
        tip = _tip(bare, branch)
        if tip is None:
            if parent is None and _git(bare, "for-each-ref", "--count=1", "refs/heads/"):
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
        return _git(bare, "commit-tree", tree, *parents, "-F", "-", stdin=message, env=env)


_OPERATIONS = {
    "CreateRepository": FakeCodeCommit.create_repository,
    "GetRepository": FakeCodeCommit.get_repository,
    "GetBranch": FakeCodeCommit.get_branch,
    "CreateCommit": FakeCodeCommit.create_commit,
    "GetCommit": FakeCodeCommit.get_commit,
    "GetFile": FakeCodeCommit.get_file,
}


class _Handler(BaseHTTPRequestHandler):
    """POST / with X-Amz-Target: CodeCommit_20150413.<Operation>; the SigV4 signature is not checked."""

    api: FakeCodeCommit
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        try:
            if not target.startswith(TARGET_PREFIX):
                raise ApiError("UnknownOperationException", f"unknown target {target!r}")
            try:
                params = json.loads(body or b"{}")
            except ValueError as e:
                raise ApiError("SerializationException", "the request body is not JSON") from e
            if not isinstance(params, dict):
                raise ApiError("SerializationException", "the request body is not a JSON object")
            self._answer(200, self.api.dispatch(target.removeprefix(TARGET_PREFIX), params))
        except ApiError as e:
            self._answer(400, {"__type": e.code, "message": e.message})
        except Exception as e:  # noqa: BLE001 - answer like AWS would rather than drop the connection
            log.exception("fake_codecommit.internal_error target=%s", target)
            self._answer(500, {"__type": "InternalFailure", "message": f"{type(e).__name__}: {e}"})

    def _answer(self, status: int, doc: dict[str, Any]) -> None:
        payload = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        """Quiet: a request log line per API call would drown the sandbox's own output."""


# --- request fields ------------------------------------------------------------------------------


def _repository_name(params: dict[str, Any]) -> str:
    name = params.get("repositoryName")
    if not name:
        raise ApiError("RepositoryNameRequiredException", "A repository name is required")
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or name.endswith(".git") or name in (".", ".."):
        raise ApiError("InvalidRepositoryNameException", f"{name!r} is not a valid repository name")
    return name


def _branch_name(params: dict[str, Any]) -> str:
    branch = params.get("branchName")
    if not branch:
        raise ApiError("BranchNameRequiredException", "A branch name is required")
    if not isinstance(branch, str) or not _BRANCH_RE.fullmatch(branch):
        raise ApiError("InvalidBranchNameException", f"{branch!r} is not a valid branch name")
    return branch


def _file_path(value: Any, seen: set[str]) -> str:
    if not value:
        raise ApiError("PathRequiredException", "A file path is required")
    path = str(value).strip("/")
    parts = path.split("/")
    if not path or any(p.lower() in ("", ".", "..", ".git") for p in parts) or any(c in path for c in "\0\n\r"):
        raise ApiError("InvalidPathException", f"{value!r} is not a valid path")
    if path in seen:
        raise ApiError("SamePathRequestException", f"{path} appears more than once in the request")
    seen.add(path)
    return path


def _content(entry: dict[str, Any], path: str) -> bytes:
    if "fileContent" not in entry:
        raise ApiError("SourceFileOrContentRequiredException", f"No content for {path}")
    try:
        return base64.b64decode(entry["fileContent"], validate=True)  # JSON carries blobs as base64
    except (binascii.Error, TypeError) as e:
        raise ApiError("SerializationException", f"fileContent of {path} is not base64") from e


# --- git -----------------------------------------------------------------------------------------


def _git_env(extra: dict[str, str] | None) -> dict[str, str]:
    # The machine's git configuration (signing, hooks, templates) must not shape the fake's answers.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, LC_ALL="C")
    env.update(extra or {})
    return env


def _git_bytes(bare: Path | None, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    git_dir = [f"--git-dir={bare}"] if bare is not None else []
    done = subprocess.run(
        ["git", *git_dir, *args], input=stdin, capture_output=True, check=True, env=_git_env(env), timeout=60
    )
    return done.stdout


def _git(bare: Path | None, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str:
    return _git_bytes(bare, *args, stdin=stdin, env=env).decode().strip()


def _tip(bare: Path, branch: str) -> str | None:
    out = _git(bare, "for-each-ref", "--format=%(objectname)", f"refs/heads/{branch}")
    return out.split("\n")[0] if out else None


def _head_is_unborn(bare: Path) -> bool:
    head = _git(bare, "symbolic-ref", "-q", "HEAD")
    return not head or not _git(bare, "for-each-ref", head)


def _object_type(bare: Path, object_id: str) -> str | None:
    done = subprocess.run(
        ["git", f"--git-dir={bare}", "cat-file", "-t", object_id],
        capture_output=True,
        env=_git_env(None),
        timeout=60,
        check=False,
    )
    return done.stdout.decode().strip() if done.returncode == 0 else None


def _resolve_commit(bare: Path, specifier: str) -> str | None:
    """A branch name, tag or commit id, as GetFile's commitSpecifier accepts them."""
    if specifier.startswith("-"):
        return None
    for candidate in (f"refs/heads/{specifier}", f"refs/tags/{specifier}", specifier):
        done = subprocess.run(
            ["git", f"--git-dir={bare}", "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"],
            capture_output=True,
            env=_git_env(None),
            timeout=60,
            check=False,
        )
        if done.returncode == 0:
            return done.stdout.decode().strip()
    return None


def _tree_entries(bare: Path, commit: str | None) -> dict[str, tuple[str, str]]:
    """path -> (mode, object id) of every file in a commit's tree."""
    if commit is None:
        return {}
    out = _git_bytes(bare, "ls-tree", "-r", "-z", "--full-tree", commit)
    entries = {}
    for record in out.split(b"\0"):
        if record:
            meta, _, path = record.partition(b"\t")
            mode, _kind, object_id = meta.decode().split(" ")
            entries[path.decode()] = (mode, object_id)
    return entries


def _user_info(value: str) -> dict[str, str]:
    """`Name <email> 1700000000 +0000` as CodeCommit's UserInfo (date: epoch seconds and offset)."""
    match = re.match(r"^(.*) <(.*)> (\d+ [+-]\d{4})$", value)
    if not match:
        return {"name": value, "email": "", "date": ""}
    return {"name": match.group(1), "email": match.group(2), "date": match.group(3)}
