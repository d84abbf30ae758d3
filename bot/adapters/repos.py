"""open_repo: turns an image's `repository` setting into the SourceRepo that commits to it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.adapters.aws.codecommit import CodeCommitRepo
from bot.adapters.commits import DEFAULT_AUTHOR_EMAIL, DEFAULT_AUTHOR_NAME
from bot.adapters.git.repo import GitRepo
from bot.domain.errors import ConfigError
from bot.domain.ports import SourceRepo
from bot.domain.repositories import CODECOMMIT_PREFIX, repo_spec_problem


def open_repo(
    spec: str,
    *,
    branch: str,
    cache_dir: Path,
    session_factory: Callable[[], Any],
    author_name: str = DEFAULT_AUTHOR_NAME,
    author_email: str = DEFAULT_AUTHOR_EMAIL,
) -> SourceRepo:
    """The CodeCommit API for `codecommit://<name>`; git (URL, file:// URL or local path) for anything else.

    `session_factory()` returns the boto3 Session for the image's region, or that region's CodeCommit
    client itself; it is called only for CodeCommit repositories, so git images need no AWS at all.
    """
    problem = repo_spec_problem(spec, branch)
    if problem:
        raise ConfigError([f"repository: {problem}"])
    if spec.startswith(CODECOMMIT_PREFIX):
        made = session_factory()
        # A Session makes clients; a client has no .client(). The endpoint is left to the environment
        # (AWS_ENDPOINT_URL_CODECOMMIT), which is how the sandbox points it at its local stand-in.
        client = made.client("codecommit") if hasattr(made, "client") else made
        return CodeCommitRepo(
            client, spec.removeprefix(CODECOMMIT_PREFIX), branch, author_name=author_name, email=author_email
        )
    return GitRepo(spec, branch, cache_dir, author_name=author_name, author_email=author_email)
