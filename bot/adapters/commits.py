"""What every source-repository adapter shares: the bot's commit identity, retry backoff, console links."""

from __future__ import annotations

import random
from urllib.parse import quote

from bot.domain.errors import RepoError
from bot.domain.repositories import image_path

DEFAULT_AUTHOR_NAME = "ami-bakery"


DEFAULT_AUTHOR_EMAIL = "ami-bakery@noreply.invalid"


def console_commit_url(region: str, repository_name: str, commit_id: str) -> str:
    """The AWS console page of one CodeCommit commit."""
    return (
        f"https://{region}.console.aws.amazon.com/codesuite/codecommit/repositories/"
        f"{quote(repository_name, safe='')}/commit/{commit_id}?region={region}"
    )


# How often a commit is tried against a branch that keeps moving. Within one process commits to a repository
# take turns; two replicas (or a person pushing) race, and under a burst the loser meets a new tip nearly
# every round. Ten tries with waits growing to 2 s (about 7 s in all) outlast a burst of fifty bakes on two
# replicas, where five tries of under a second gave up on some (benchmarks/bench_ack.py, two replicas).
COMMIT_ATTEMPTS = 10


def backoff_delay(attempt: int) -> float:
    """Seconds to wait before retry `attempt + 1`: short, growing, jittered so racing writers spread out."""
    return float(min(0.05 * 2 ** (attempt - 1), 2.0) * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not a secret


def image_dir(path: str) -> str:
    """An image's directory in its repository, normalised as the config gives it (a leading or trailing "/" is
    let through); a path that leaves the repository or enters `.git` is refused, never guessed at."""
    normal, problem = image_path(path.strip("/"))
    if problem:
        raise RepoError(f"image path: {problem}")
    return normal
