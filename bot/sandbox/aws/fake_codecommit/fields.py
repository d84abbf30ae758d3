"""CodeCommit's checks of a request's fields: repository and branch names, file paths, file contents."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from bot.sandbox.aws.wire import AwsFault

NAME_RE = re.compile(r"^[\w.-]{1,100}$", re.ASCII)
_BRANCH_RE = re.compile(r"^(?![-./])(?!.*(?:\.\.|//|/\.|@\{|\.lock/))[\w./-]{1,256}(?<![./])(?<!\.lock)$", re.ASCII)
SHA_RE = re.compile(r"^[0-9a-f]{40}$")


class ApiError(AwsFault):
    """An error answered as CodeCommit does: HTTP 400 and {"__type": code, "message": ...}."""

    def __init__(self, code: str, message: str):
        super().__init__(code, message)


def repository_name(params: dict[str, Any]) -> str:
    name = params.get("repositoryName")
    if not name:
        raise ApiError("RepositoryNameRequiredException", "A repository name is required")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or name.endswith(".git") or name in (".", ".."):
        raise ApiError("InvalidRepositoryNameException", f"{name!r} is not a valid repository name")
    return name


def branch_name(params: dict[str, Any]) -> str:
    branch = params.get("branchName")
    if not branch:
        raise ApiError("BranchNameRequiredException", "A branch name is required")
    if not isinstance(branch, str) or not _BRANCH_RE.fullmatch(branch):
        raise ApiError("InvalidBranchNameException", f"{branch!r} is not a valid branch name")
    return branch


def file_path(value: Any, seen: set[str]) -> str:
    """A file path of the request, refused when it is malformed or already in `seen` (to which it is added)."""
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


def content(entry: dict[str, Any], path: str) -> bytes:
    if "fileContent" not in entry:
        raise ApiError("SourceFileOrContentRequiredException", f"No content for {path}")
    try:
        return base64.b64decode(entry["fileContent"], validate=True)  # JSON carries blobs as base64
    except (binascii.Error, TypeError) as e:
        raise ApiError("SerializationException", f"fileContent of {path} is not base64") from e
