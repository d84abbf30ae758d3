"""The inputs fingerprint of a bake (CONTRACT §12): what decides whether a bake would make an AMI anew.

A SHA-256 over a canonical JSON document of the git tree id of the image's directory at the branch tip (with
`bake-request.json` left out: each bake rewrites it), the variables after defaults (keys sorted) and the pinned
source AMI. Both repository backends compute the tree id with `tree_id` from the entries they can read (git's
ls-tree, CodeCommit's GetFolder), so the same content gives the same fingerprint on either.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.domain.models import REQUEST_FILE

# git's object modes, as written in a tree object (a sub-tree is "40000", without the leading zero).
MODE_FILE, MODE_EXECUTABLE, MODE_SYMLINK, MODE_TREE, MODE_SUBMODULE = "100644", "100755", "120000", "40000", "160000"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's id of the tree with nothing in it


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a git tree: its mode (as git writes it), its name in the directory, and its object id."""

    mode: str
    name: str
    object_id: str

    def __post_init__(self) -> None:
        # git's ls-tree writes a sub-tree as 040000; the tree object itself holds 40000.
        object.__setattr__(self, "mode", self.mode.lstrip("0") or "0")

    def sort_key(self) -> bytes:
        # git orders a tree by name, comparing a sub-tree's as though it ended in "/".
        name = self.name.encode("utf-8", "surrogateescape")
        return name + b"/" if self.mode == MODE_TREE else name


def tree_id(entries: Iterable[TreeEntry]) -> str:
    """The git id (SHA-1) of the tree object these entries make."""
    body = b"".join(
        e.mode.encode() + b" " + e.name.encode("utf-8", "surrogateescape") + b"\0" + bytes.fromhex(e.object_id)
        for e in sorted(entries, key=TreeEntry.sort_key)
    )
    return hashlib.sha1(b"tree %d\0" % len(body) + body, usedforsecurity=False).hexdigest()


def inputs_tree_id(entries: Iterable[TreeEntry]) -> str:
    """The tree id of an image's directory as the fingerprint sees it: without the request file."""
    return tree_id(e for e in entries if e.name != REQUEST_FILE)


def fingerprint(*, tree: str, variables: Mapping[str, str], source_ami: str | None) -> str:
    """The inputs fingerprint: SHA-256 (hex) of {"source_ami", "tree", "variables"} as canonical JSON."""
    document = {"source_ami": source_ami or "", "tree": tree, "variables": dict(sorted(variables.items()))}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
