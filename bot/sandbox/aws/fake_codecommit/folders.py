"""GetFolder as CodeCommit answers it: a folder's files, symbolic links, sub-folders and submodules at a commit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.sandbox.aws.fake_codecommit.fields import ApiError
from bot.sandbox.aws.fake_codecommit.git import git_bytes, resolve_commit, resolve_tree

_FILE_MODES = {"100644": "NORMAL", "100755": "EXECUTABLE"}


def get_folder(bare: Path, params: dict[str, Any]) -> dict[str, Any]:
    raw_path = params.get("folderPath")
    if raw_path is None or raw_path == "":
        raise ApiError("PathRequiredException", "A folder path is required")
    folder = str(raw_path).strip("/")
    if folder and any(p in ("", ".", "..") for p in folder.split("/")):
        raise ApiError("InvalidPathException", f"{raw_path!r} is not a valid path")
    specifier = params.get("commitSpecifier") or "HEAD"
    commit = resolve_commit(bare, specifier)
    if commit is None:
        raise ApiError("CommitDoesNotExistException", f"{specifier} does not exist")
    tree = resolve_tree(bare, commit, folder)
    if tree is None:
        raise ApiError("FolderDoesNotExistException", f"{folder or '/'} does not exist at {specifier}")
    answer: dict[str, Any] = {
        "commitId": commit,
        "folderPath": "/" + folder if folder else "/",
        "treeId": tree,
        "subFolders": [],
        "files": [],
        "symbolicLinks": [],
        "subModules": [],
    }
    for record in git_bytes(bare, "ls-tree", "-z", tree).split(b"\0"):
        if not record:
            continue
        meta, _, name_bytes = record.partition(b"\t")
        mode, _kind, object_id = meta.decode().split(" ")
        name = name_bytes.decode()
        at = f"{folder}/{name}" if folder else name
        if mode == "040000":
            answer["subFolders"].append({"treeId": object_id, "absolutePath": at, "relativePath": name})
        elif mode == "160000":
            answer["subModules"].append({"commitId": object_id, "absolutePath": at, "relativePath": name})
        elif mode == "120000":
            entry = {"blobId": object_id, "absolutePath": at, "relativePath": name, "fileMode": "SYMLINK"}
            answer["symbolicLinks"].append(entry)
        else:
            entry = {"blobId": object_id, "absolutePath": at, "relativePath": name, "fileMode": _FILE_MODES[mode]}
            answer["files"].append(entry)
    return answer
