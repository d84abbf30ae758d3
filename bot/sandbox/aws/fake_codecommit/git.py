"""The git plumbing under the local CodeCommit: run git on a bare repository, isolated from the machine's config."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ZERO = "0" * 40  # update-ref's "must not exist yet"


def _git_env(extra: dict[str, str] | None) -> dict[str, str]:
    # The machine's git configuration (signing, hooks, templates) must not shape the fake's answers.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, LC_ALL="C")
    env.update(extra or {})
    return env


def git_bytes(bare: Path | None, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    git_dir = [f"--git-dir={bare}"] if bare is not None else []
    done = subprocess.run(
        ["git", *git_dir, *args], input=stdin, capture_output=True, check=True, env=_git_env(env), timeout=60
    )
    return done.stdout


def git(bare: Path | None, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str:
    return git_bytes(bare, *args, stdin=stdin, env=env).decode().strip()


def branch_tip(bare: Path, branch: str) -> str | None:
    out = git(bare, "for-each-ref", "--format=%(objectname)", f"refs/heads/{branch}")
    return out.split("\n")[0] if out else None


def head_is_unborn(bare: Path) -> bool:
    head = git(bare, "symbolic-ref", "-q", "HEAD")
    return not head or not git(bare, "for-each-ref", head)


def _git_or_none(bare: Path, *args: str) -> str | None:
    """git's output, or None where git says no (an unknown object or ref is an answer here, not a failure)."""
    done = subprocess.run(
        ["git", f"--git-dir={bare}", *args], capture_output=True, env=_git_env(None), timeout=60, check=False
    )
    return done.stdout.decode().strip() if done.returncode == 0 else None


def object_type(bare: Path, object_id: str) -> str | None:
    return _git_or_none(bare, "cat-file", "-t", object_id)


def resolve_tree(bare: Path, commit: str, path: str) -> str | None:
    """The tree at `path` ("" for the root) of a commit, None when there is no such tree."""
    spec = f"{commit}:{path}" if path else f"{commit}^{{tree}}"
    found = _git_or_none(bare, "rev-parse", "--verify", "--quiet", spec)
    return found if found and object_type(bare, found) == "tree" else None


def resolve_commit(bare: Path, specifier: str) -> str | None:
    """A branch name, tag or commit id, as GetFile's commitSpecifier accepts them."""
    if specifier.startswith("-"):
        return None
    for candidate in (f"refs/heads/{specifier}", f"refs/tags/{specifier}", specifier):
        commit = _git_or_none(bare, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
        if commit is not None:
            return commit
    return None


def tree_entries(bare: Path, commit: str | None) -> dict[str, tuple[str, str]]:
    """path -> (mode, object id) of every file in a commit's tree."""
    if commit is None:
        return {}
    out = git_bytes(bare, "ls-tree", "-r", "-z", "--full-tree", commit)
    entries = {}
    for record in out.split(b"\0"):
        if record:
            meta, _, path = record.partition(b"\t")
            mode, _kind, object_id = meta.decode().split(" ")
            entries[path.decode()] = (mode, object_id)
    return entries


def user_info(value: str) -> dict[str, str]:
    """`Name <email> 1700000000 +0000` as CodeCommit's UserInfo (date: epoch seconds and offset)."""
    match = re.match(r"^(.*) <(.*)> (\d+ [+-]\d{4})$", value)
    if not match:
        return {"name": value, "email": "", "date": ""}
    return {"name": match.group(1), "email": match.group(2), "date": match.group(3)}
