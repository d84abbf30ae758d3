"""What the bot accepts as a git remote and branch, and what it may show of one: checks, redaction, links."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from bot.adapters.commits import console_commit_url

# git check-ref-format, simplified: the branch also goes into refspecs, where ':', '*', '^' or a
# leading '+' or '-' would change their meaning.
BRANCH_RE = re.compile(r"^(?![-./])(?!.*(?:\.\.|//|/\.|@\{|\.lock/))[A-Za-z0-9._/-]{1,200}(?<![./])(?<!\.lock)$")
# Hex only, so an id can never be read by git as an option or a revision expression.
COMMIT_ID_RE = re.compile(r"^[0-9a-fA-F]{7,64}$")

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_HELPER_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)::")  # git remote helpers: codecommit::eu-west-1://repo
_SCHEMES = frozenset({"https", "http", "ssh", "git", "file"})
_UNSAFE_HELPERS = frozenset({"ext", "fd"})  # run arbitrary commands / use inherited descriptors
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


def remote_problem(url_or_path: str) -> str | None:
    """Why `url_or_path` cannot be a GitRepo remote, or None when it can."""
    if not url_or_path or url_or_path != url_or_path.strip() or any(c in url_or_path for c in "\r\n\0"):
        return "a git remote must be a non-empty URL or path without surrounding blanks"
    if url_or_path.startswith("-"):
        return "a git remote must not start with '-'"
    helper = _HELPER_RE.match(url_or_path)
    if helper and helper.group(1).lower() in _UNSAFE_HELPERS:
        return f"the git transport {helper.group(1)}:: is not allowed"
    scheme = _SCHEME_RE.match(url_or_path)
    if not helper and scheme and scheme.group(1).lower() not in _SCHEMES:
        return f"unsupported git URL scheme {scheme.group(1)}:// (use https, ssh, git, file or a path)"
    return None


def is_local(url: str) -> bool:
    if _HELPER_RE.match(url) or _SCHEME_RE.match(url):
        return url.lower().startswith("file://")
    colon, slash = url.find(":"), url.find("/")
    return not (colon > 0 and (slash == -1 or colon < slash))  # scp-like "host:path" is remote


def normalize(url_or_path: str) -> str:
    """The remote as git should see it: local paths absolute, so the clone does not depend on the cwd."""
    if _HELPER_RE.match(url_or_path) or _SCHEME_RE.match(url_or_path) or not is_local(url_or_path):
        return url_or_path
    return str(Path(url_or_path).expanduser().resolve())


def web_commit_url(url: str, commit_id: str) -> str:
    """The commit's page on a well-known git host, or "" when there is no page we know of."""
    if not COMMIT_ID_RE.fullmatch(commit_id) or is_local(url):
        return ""
    helper = re.match(r"^codecommit::([a-z0-9-]+)://(?:[^@/]+@)?([\w.-]+)$", url)
    if helper:
        return console_commit_url(helper.group(1), helper.group(2), commit_id)
    if _SCHEME_RE.match(url):
        parts = urlsplit(url)
        host, path = (parts.hostname or "").lower(), parts.path
    elif not _HELPER_RE.match(url):  # scp-like git@github.com:owner/repo.git
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
