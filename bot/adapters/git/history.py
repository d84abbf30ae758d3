"""Reading a clone's history: a bake request's commit found by its `Bakery-Request:` trailer (§7, §15), a commit."""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import timedelta

from git import Repo

from bot.domain.models import TRAILER_REQUEST, BakeRequest
from bot.domain.times import parse_time

_ID_RE = re.compile(r"[A-Za-z0-9-]{1,64}")  # a request id, safe to put in a --grep pattern as it is
_CLOCK_SKEW = timedelta(days=1)  # a request's commit is never older than the request, give or take clocks


def landed_commit(repo: Repo, ref: str, request: BakeRequest, file_path: str) -> str | None:
    """The newest commit at `ref` touching `file_path` whose message carries this request's trailer, if any.

    Only commits newer than the request (less a day for clocks) are looked at, so the walk stays short.
    """
    if not _ID_RE.fullmatch(request.request_id):
        return None
    since: list[str] = []
    with suppress(ValueError):
        since = [f"--since={(parse_time(request.requested_at) - _CLOCK_SKEW).strftime('%Y-%m-%d %H:%M:%S +0000')}"]
    found = repo.git.log(
        *since, "-1", "--format=%H", f"--grep=^{TRAILER_REQUEST}: {request.request_id}$", ref, "--", file_path
    )
    return str(found).strip() or None


def read_commit(repo: Repo, commit_id: str) -> tuple[str, bytes] | None:
    """A commit's full id and raw object, or None when the clone has no such commit."""
    full_id = repo.git.rev_parse("--verify", "--quiet", f"{commit_id}^{{commit}}", with_exceptions=False)
    if not full_id:
        return None
    raw = repo.git.cat_file("commit", full_id, stdout_as_string=False, strip_newline_in_stdout=False)
    return full_id, raw
