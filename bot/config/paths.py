"""An image's `path` (CONTRACT §4, §7): where in its repository its directory and `bake-request.json` are.

Images may share a repository and branch under different paths; two whose directories overlap (the same path,
or one inside the other, the root holding everything) would rewrite each other's request file and see each
other's files in their inputs fingerprint (§12), so that is refused.
"""

from __future__ import annotations

import os
from typing import Any

from bot.config.fields import FieldChecks, kind
from bot.config.model import ImageConfig
from bot.domain.repositories import image_path, is_local_path, paths_overlap


def path(checks: FieldChecks, value: Any, key: str) -> str:
    """`images.<name>.path`, normalised; the root ("") when absent or not usable (the problem is reported)."""
    if value is None:
        return ""
    if not isinstance(value, str) or not value:
        checks.err(key, f"must be a directory of the repository, not {kind(value)}")
        return ""
    normal, problem = image_path(value)
    if problem:
        checks.err(key, problem)
    return normal


def overlap_problems(checks: FieldChecks, images: dict[str, ImageConfig]) -> None:
    """Images in one repository and branch must keep to directories of their own."""
    seen: list[ImageConfig] = []
    for image in images.values():
        if any(p.startswith(f"images.{image.name}.path:") for p in checks.problems):
            continue  # its path is already refused: it stands for no directory
        for earlier in seen:
            same_branch = (same_place(earlier.repository), earlier.branch) == (
                same_place(image.repository),
                image.branch,
            )
            if same_branch and image.repository and paths_overlap(earlier.path, image.path):
                checks.err(
                    f"images.{image.name}.path",
                    f"{shown(image.path)} overlaps image {earlier.name!r} ({shown(earlier.path)}) in the same "
                    "repository and branch; images that share a repository need directories of their own",
                )
                break
        seen.append(image)


def same_place(repository: str) -> str:
    """A repository setting as compared for sharing: a local path normalised (`./r/` and `r` are one)."""
    return os.path.normpath(os.path.expanduser(repository)) if repository and is_local_path(repository) else repository


def shown(directory: str) -> str:
    return f"path {directory!r}" if directory else "repository root"
