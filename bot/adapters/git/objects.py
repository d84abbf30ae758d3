"""Reading git objects the bot needs without a working tree: a commit's author and message, a tree's entries."""

from __future__ import annotations

from bot.domain.fingerprint import TreeEntry
from bot.domain.models import CommitInfo


def parse_commit(commit_id: str, raw: bytes) -> CommitInfo:
    """The author, e-mail and message of a raw commit object (as `git cat-file commit` prints it)."""
    header, _, body = raw.partition(b"\n\n")
    author = email = ""
    for line in header.split(b"\n"):
        if line.startswith(b"author "):
            name, _, rest = line[len(b"author ") :].partition(b" <")
            author = name.decode("utf-8", errors="replace")
            email = rest.partition(b">")[0].decode("utf-8", errors="replace")
            break
    return CommitInfo(
        commit_id=commit_id, author=author, author_email=email, message=body.decode("utf-8", errors="replace")
    )


def parse_ls_tree(raw: bytes) -> list[TreeEntry]:
    """The entries of `git ls-tree -z <tree>` output: `<mode> <type> <id>\\t<name>` records, NUL-ended."""
    entries = []
    for record in raw.split(b"\0"):
        if record:
            meta, _, name = record.partition(b"\t")
            mode, _kind, object_id = meta.decode("ascii").split(" ")
            entries.append(
                TreeEntry(mode=mode, name=name.decode("utf-8", errors="surrogateescape"), object_id=object_id)
            )
    return entries
