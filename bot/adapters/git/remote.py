"""What the bot may show of a git remote, and how git should see it: redaction, links, local paths.

Which remotes and branches are accepted at all is `bot.domain.repositories`: the config loader checks the same.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import urlsplit

from git import GitCommandError

from bot.adapters.commits import console_commit_url
from bot.domain.errors import RepoError
from bot.domain.repositories import HELPER_RE, SCHEME_RE

# Hex only, so an id can never be read by git as an option or a revision expression.
COMMIT_ID_RE = re.compile(r"^[0-9a-fA-F]{7,64}$")

_CREDENTIALS_RE = re.compile(r"(?<=://)[^/\s]*@")  # user[:password]@ after "scheme://", up to the last @
_WEB_HOSTS = {
    "github.com": "https://github.com/{path}/commit/{sha}",
    "gitlab.com": "https://gitlab.com/{path}/-/commit/{sha}",
    "bitbucket.org": "https://bitbucket.org/{path}/commits/{sha}",
}
_CODECOMMIT_HOST_RE = re.compile(r"^git-codecommit(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com$")


def redact(text: str) -> str:
    """`text` with the credentials of every URL in it removed."""
    return _CREDENTIALS_RE.sub("", text)


def is_local(url: str) -> bool:
    if HELPER_RE.match(url) or SCHEME_RE.match(url):
        return url.lower().startswith("file://")
    colon, slash = url.find(":"), url.find("/")
    return not (colon > 0 and (slash == -1 or colon < slash))  # scp-like "host:path" is remote


def normalize(url_or_path: str) -> str:
    """The remote as git should see it: local paths absolute, so the clone does not depend on the cwd."""
    if HELPER_RE.match(url_or_path) or SCHEME_RE.match(url_or_path) or not is_local(url_or_path):
        return url_or_path
    return str(Path(url_or_path).expanduser().resolve())


def web_commit_url(url: str, commit_id: str) -> str:
    """The commit's page on a well-known git host, or "" when there is no page we know of."""
    if not COMMIT_ID_RE.fullmatch(commit_id) or is_local(url):
        return ""
    helper = re.match(r"^codecommit::([a-z0-9-]+)://(?:[^@/]+@)?([\w.-]+)$", url)
    if helper:
        return console_commit_url(helper.group(1), helper.group(2), commit_id)
    if SCHEME_RE.match(url):
        parts = urlsplit(url)
        host, path = (parts.hostname or "").lower(), parts.path
    elif not HELPER_RE.match(url):  # scp-like git@github.com:owner/repo.git
        host_part, _, path = url.partition(":")
        host = host_part.rpartition("@")[2].lower()
    else:
        return ""
    path = path.strip("/").removesuffix(".git")
    codecommit = _CODECOMMIT_HOST_RE.match(host)
    if codecommit and path.startswith("v1/repos/"):
        return console_commit_url(codecommit.group(1), path.removeprefix("v1/repos/"), commit_id)
    template = _WEB_HOSTS.get(host)
    if not template or path.count("/") < 1 or not re.fullmatch(r"[\w./-]+", path):
        return ""
    return template.format(path=path, sha=commit_id)


def clone_dir_name(display_url: str, branch: str) -> str:
    """A directory name that is safe on any filesystem, readable, and unique per remote and branch."""
    last = display_url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git")
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", last).strip("-.")[:40] or "repo"
    digest = hashlib.sha256(f"{display_url}\n{branch}".encode()).hexdigest()[:16]
    return f"{readable}-{digest}"


def command_error(e: GitCommandError, display_url: str, branch: str) -> RepoError:
    """A failed git command as the bot reports it: git's own verdict, never the remote's credentials."""
    operation = e.command[1] if len(e.command) > 1 else "command"
    stderr = re.sub(r"^\s*stderr: '|'\s*$", "", str(e.stderr or ""))
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    # git's own verdict ("fatal: ...") says more than the advice lines that follow it.
    verdict = [line for line in lines if line.startswith(("fatal:", "error:"))]
    detail = " / ".join((verdict or lines[-3:])[:3])[:500] or f"exit status {e.status}"
    return RepoError(f"git {operation} failed for {display_url} (branch {branch}): {redact(detail)}")
