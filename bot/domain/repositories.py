"""What an image's `repository` and `branch` may be: one set of rules, for the config loader and for open_repo.

`bakery check` and the first `/bake` must agree: a setting the loader accepts is one the adapters can open.
"""

from __future__ import annotations

import re

from bot.domain.models import REQUEST_FILE

# git check-ref-format, simplified: the branch also goes into refspecs, where ':', '*', '^' or a
# leading '+' or '-' would change their meaning.
BRANCH_RE = re.compile(r"^(?![-./])(?!.*(?:\.\.|//|/\.|@\{|\.lock/))[A-Za-z0-9._/-]{1,200}(?<![./])(?<!\.lock)$")
CODECOMMIT_PREFIX = "codecommit://"
CODECOMMIT_NAME_RE = re.compile(r"^[\w.-]{1,100}$", re.ASCII)
SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
HELPER_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)::")  # git remote helpers: codecommit::eu-west-1://repo
_SCHEMES = frozenset({"https", "http", "ssh", "git", "file"})
_UNSAFE_HELPERS = frozenset({"ext", "fd"})  # run arbitrary commands / use inherited descriptors


def branch_problem(branch: str) -> str | None:
    """Why `branch` cannot be committed to, or None when it can."""
    return None if BRANCH_RE.fullmatch(branch or "") else f"{branch!r} is not a valid branch name"


def remote_problem(url_or_path: str) -> str | None:
    """Why `url_or_path` cannot be a git remote, or None when it can."""
    if not url_or_path or url_or_path != url_or_path.strip() or any(c in url_or_path for c in "\r\n\0"):
        return "a git remote must be a non-empty URL or path without surrounding blanks"
    if url_or_path.startswith("-"):
        return "a git remote must not start with '-'"
    helper = HELPER_RE.match(url_or_path)
    if helper and helper.group(1).lower() in _UNSAFE_HELPERS:
        return f"the git transport {helper.group(1)}:: is not allowed"
    scheme = SCHEME_RE.match(url_or_path)
    if not helper and scheme and scheme.group(1).lower() not in _SCHEMES:
        return f"unsupported git URL scheme {scheme.group(1)}:// (use https, ssh, git, file or a path)"
    return None


def repository_problem(spec: str) -> str | None:
    """Why a `repository` setting cannot be used (CodeCommit API, git URL or local path), or None."""
    if spec.startswith(CODECOMMIT_PREFIX):
        name = spec.removeprefix(CODECOMMIT_PREFIX)
        if not CODECOMMIT_NAME_RE.fullmatch(name) or name in (".", ".."):
            return f"{spec!r} is not codecommit://<name> (letters, digits, '.', '_' or '-'; at most 100)"
        return None
    if spec.startswith("codecommit:") and not HELPER_RE.match(spec):  # codecommit:name, a slip for codecommit://
        return f"{spec!r} is not codecommit://<name>"
    return remote_problem(spec)


def is_local_path(repository: str) -> bool:
    """Whether git reads `repository` as a path on this machine.

    git's own rule: a colon before the first slash makes it a URL (`https://`, `codecommit://`, a remote
    helper's `codecommit::`) or scp-like `host:path`; anything else is a path.
    """
    colon, slash = repository.find(":"), repository.find("/")
    return not (colon > 0 and (slash == -1 or colon < slash))


def repo_spec_problem(spec: str, branch: str) -> str | None:
    """Why a repository setting and branch cannot be used together, or None when they can."""
    return branch_problem(branch) or repository_problem(spec)


def image_path(text: str) -> tuple[str, str | None]:
    """An image's `path` (§4, §7) normalised (`packer//web/` -> `packer/web`, `.` -> the root ""), and why it
    cannot be used, or None: a relative POSIX directory inside the repository, outside `.git`."""
    if any(c in text for c in "\\\0\r\n") or text != text.strip():
        return "", f"{text!r} is not a repository path (no backslashes, control characters or surrounding blanks)"
    if text.startswith("/"):
        return "", f"{text!r} is absolute; give the directory relative to the repository root (no leading '/')"
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        return "", f"{text!r} leaves the repository ('..'); give a directory inside it"
    if any(p.lower() == ".git" for p in parts):
        return "", f"{text!r} is inside .git, which holds git's own files"
    return "/".join(parts), None


def request_file_at(path: str) -> str:
    """Where an image's `bake-request.json` goes: at its `path`, or at the root (CONTRACT §7)."""
    return f"{path}/{REQUEST_FILE}" if path else REQUEST_FILE


def paths_overlap(one: str, other: str) -> bool:
    """Whether two image directories in one repository and branch share files: equal, or one inside the other."""
    return one == other or not one or not other or other.startswith(one + "/") or one.startswith(other + "/")
