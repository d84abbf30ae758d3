"""Writing the request file into the clone's work tree, at the image's directory, and nowhere else."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from bot.domain.errors import RepoError


def write_request_file(clone_dir: Path, file_path: str, data: bytes) -> None:
    """Write `data` at `file_path` (relative, normalised) inside the clone, making its directories.

    A directory on the way that the repository carries as a symlink could point anywhere on this machine:
    the request is refused rather than written through it (so is the file itself being one, as before).
    """
    parts = PurePosixPath(file_path).parts
    for depth in range(1, len(parts)):
        if (clone_dir.joinpath(*parts[:depth])).is_symlink():
            raise RepoError(
                f"{'/'.join(parts[:depth])} is a symlink in the repository; an image's path must be a directory"
            )
    target = clone_dir.joinpath(*parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)  # never write through a symlink a repository might carry
    target.write_bytes(data)
