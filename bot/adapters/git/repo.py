"""GitRepo: commits bake requests to any git remote through one reused local clone per repository branch."""

from __future__ import annotations

import fcntl
import io
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from git import GitCommandError, GitError, PushInfo, Repo
from git.exc import InvalidGitRepositoryError, NoSuchPathError
from git.refs.symbolic import SymbolicReference
from gitdb import IStream, LooseObjectDB

from bot.adapters.commits import COMMIT_ATTEMPTS, DEFAULT_AUTHOR_EMAIL, DEFAULT_AUTHOR_NAME, backoff_delay, image_dir
from bot.adapters.git.history import landed_commit, read_commit
from bot.adapters.git.objects import parse_commit, parse_ls_tree
from bot.adapters.git.remote import COMMIT_ID_RE, clone_dir_name, command_error, normalize, redact, web_commit_url
from bot.adapters.git.worktree import write_request_file
from bot.domain.errors import RepoConflict, RepoError
from bot.domain.fingerprint import EMPTY_TREE, MODE_TREE, inputs_tree_id
from bot.domain.models import BakeRequest, CommitInfo
from bot.domain.repositories import BRANCH_RE, remote_problem, request_file_at

log = logging.getLogger(__name__)

# A concurrent push updated the remote ref between our fetch and our push.
_REF_RACE = ("failed to update ref", "failed to lock", "cannot lock ref", "incorrect old value")


class GitRepo:
    """A git remote and the branch `/bake` commits to, worked on through one cached clone."""

    def __init__(
        self,
        url_or_path: str | Path,
        branch: str,
        cache_dir: Path,
        *,
        author_name: str = DEFAULT_AUTHOR_NAME,
        author_email: str = DEFAULT_AUTHOR_EMAIL,
        max_attempts: int = COMMIT_ATTEMPTS,
        timeout: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        problem = remote_problem(str(url_or_path))
        if problem:
            raise ValueError(problem)
        if not BRANCH_RE.fullmatch(branch):
            raise ValueError(f"invalid branch name {branch!r}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._url = normalize(str(url_or_path))
        self._display_url = redact(self._url)
        self._branch = branch
        self._tracking_ref = f"refs/remotes/origin/{branch}"
        self._clone_dir = Path(cache_dir) / clone_dir_name(self._display_url, branch)
        self._max_attempts = max_attempts
        self._timeout = timeout
        self._sleep = sleep
        self._env = {
            # The commit must not depend on whoever runs the bot: identity comes from here, and a
            # credential prompt would hang a bot that has no terminal.
            "GIT_AUTHOR_NAME": author_name,
            "GIT_AUTHOR_EMAIL": author_email,
            "GIT_COMMITTER_NAME": author_name,
            "GIT_COMMITTER_EMAIL": author_email,
            "GIT_TERMINAL_PROMPT": "0",
            "GCM_INTERACTIVE": "never",
            # Pinned so git never discovers (and commits to) a repository that encloses the cache.
            "GIT_DIR": str(self._clone_dir / ".git"),
            "GIT_WORK_TREE": str(self._clone_dir),
        }
        self._lock = threading.Lock()
        self._repo: Repo | None = None

    def __repr__(self) -> str:
        return f"GitRepo({self._display_url!r}, branch={self._branch!r})"

    @property
    def clone_dir(self) -> Path:
        """Where the reused clone lives (created on first use)."""
        return self._clone_dir

    def commit_request(self, request: BakeRequest, path: str = "") -> str:
        content, message, file_path = request.to_json(), request.commit_message(), request_file_at(image_dir(path))
        with self._exclusive() as repo:
            for attempt in range(1, self._max_attempts + 1):
                has_tip = self._fetch(repo)
                self._reset(repo, has_tip=has_tip)
                # Keyed by the request: its commit on the branch (a push that landed, another replica's) is the answer;
                # a push only fast-forwards the tip looked at, so one landing meanwhile is found on the retry.
                if has_tip and (landed := landed_commit(repo, self._tracking_ref, request, file_path)):
                    log.info("repo.commit_found request_id=%s commit=%s", request.request_id, landed)
                    return landed
                commit_id = self._commit(repo, file_path, content, message)
                if commit_id is None:
                    return self._commit_of_request(repo, file_path)
                if self._push(repo):
                    log.info(
                        "repo.commit_pushed repo=%s branch=%s request_id=%s commit=%s attempts=%d",
                        self._display_url,
                        self._branch,
                        request.request_id,
                        commit_id,
                        attempt,
                    )
                    return commit_id
                log.info(
                    "repo.push_rejected repo=%s branch=%s request_id=%s attempt=%d",
                    self._display_url,
                    self._branch,
                    request.request_id,
                    attempt,
                )
                if attempt < self._max_attempts:
                    self._sleep(backoff_delay(attempt))
        raise RepoConflict(
            f"{self._display_url} branch {self._branch} kept moving; gave up after {self._max_attempts} attempts"
        )

    def commit_info(self, commit_id: str) -> CommitInfo | None:
        if not COMMIT_ID_RE.fullmatch(commit_id):
            return None
        with self._exclusive() as repo:
            found = read_commit(repo, commit_id)
            if found is None:
                self._fetch(repo)
                found = read_commit(repo, commit_id)
        if found is None:
            return None
        full_id, raw = found
        return parse_commit(full_id, raw)

    def commit_url(self, commit_id: str) -> str:
        return web_commit_url(self._url, commit_id)

    def inputs_tree(self, path: str = "") -> str:
        """The tree id of `path` (the root when "") at the remote tip, the request file left out (§12)."""
        directory = image_dir(path)
        with self._exclusive() as repo:
            if not (tree := self._tracking_ref if self._fetch(repo) else ""):
                return EMPTY_TREE
            if directory:
                listed = parse_ls_tree(repo.git.ls_tree("-z", tree, "--", directory, stdout_as_string=False))
                if len(listed) != 1 or listed[0].mode != MODE_TREE:
                    return EMPTY_TREE  # the image's directory is not there (yet): nothing of it is an input
                tree = listed[0].object_id
            raw = repo.git.ls_tree("-z", tree, stdout_as_string=False)
        return inputs_tree_id(parse_ls_tree(raw))

    def close(self) -> None:
        """Let go of the clone's git processes; the clone itself stays for the next bake."""
        with self._lock:
            if self._repo is not None:
                self._repo.close()
                self._repo = None

    # --- one operation at a time on the clone -------------------------------------------------

    @contextmanager
    def _exclusive(self) -> Iterator[Repo]:
        """The clone, held by this thread (lock) and this process (flock on a file beside it)."""
        with self._lock:
            try:
                self._clone_dir.parent.mkdir(parents=True, exist_ok=True)
                lock_path = self._clone_dir.with_name(self._clone_dir.name + ".lock")
                with open(lock_path, "a") as lock_file:
                    # Another process (or another GitRepo on the same cache) may share this clone.
                    fcntl.flock(lock_file, fcntl.LOCK_EX)
                    self._remove_stale_locks()
                    yield self._open_clone()
            except GitCommandError as e:
                self._forget_clone()
                # Rebuilt rather than chained: the original carries git's raw output, which may hold
                # the remote's credentials; everything useful in it is in this message.
                raise command_error(e, self._display_url, self._branch) from None
            except (GitError, OSError) as e:
                self._forget_clone()
                raise RepoError(f"git repository cache for {self._display_url} failed: {redact(str(e))}") from None

    def _remove_stale_locks(self) -> None:
        """Lock files of a git that died mid-command (a crashed bake): we hold the clone, so none is live."""
        git_dir = self._clone_dir / ".git"
        if git_dir.is_dir():
            for stale in (*git_dir.glob("*.lock"), *(git_dir / "refs").rglob("*.lock")):
                stale.unlink(missing_ok=True)

    def _forget_clone(self) -> None:
        """After a failure, look at the clone afresh next time (it may have been damaged or removed)."""
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    def _open_clone(self) -> Repo:
        if self._repo is not None:
            return self._repo
        try:
            repo = Repo(self._clone_dir)
            if repo.bare:
                raise InvalidGitRepositoryError(str(self._clone_dir))
        except (InvalidGitRepositoryError, NoSuchPathError):
            # Missing, or left half-made by a crash: start over; the remote holds everything.
            shutil.rmtree(self._clone_dir, ignore_errors=True)
            repo = Repo.init(self._clone_dir, mkdir=True)
        repo.git.update_environment(**self._env)
        with repo.config_writer() as config:
            # Local settings win over the user's global ones, which we must not depend on.
            config.set_value('remote "origin"', "url", self._url)
            config.set_value('remote "origin"', "fetch", f"+refs/heads/{self._branch}:{self._tracking_ref}")
            config.set_value("commit", "gpgSign", "false")
            config.set_value("tag", "gpgSign", "false")
            config.set_value("push", "gpgSign", "false")
            config.set_value("core", "hooksPath", "/dev/null")
            config.set_value("core", "autocrlf", "false")
            config.set_value("core", "fsmonitor", "false")
            config.set_value("user", "name", self._env["GIT_AUTHOR_NAME"])
            config.set_value("user", "email", self._env["GIT_AUTHOR_EMAIL"])
        repo.git.symbolic_ref("HEAD", f"refs/heads/{self._branch}")
        self._repo = repo
        return repo

    # --- the steps of a commit ----------------------------------------------------------------

    def _fetch(self, repo: Repo) -> bool:
        """Bring the branch's remote tip into the clone; False when the remote has no such branch yet."""
        try:
            repo.git.fetch(
                "--quiet",
                "--no-tags",
                "origin",
                f"+refs/heads/{self._branch}:{self._tracking_ref}",
                kill_after_timeout=self._timeout,
            )
        except GitCommandError as e:
            if "couldn't find remote ref" not in str(e.stderr):
                raise
            repo.git.update_ref("-d", self._tracking_ref)
            return False
        return True

    def _reset(self, repo: Repo, has_tip: bool) -> None:
        """Make the work tree and index exactly the remote tip, whatever a crashed bake left behind."""
        if has_tip:
            repo.git.reset("--hard", "--quiet", self._tracking_ref)
        else:
            repo.git.update_ref("-d", f"refs/heads/{self._branch}")
            repo.git.read_tree("--empty")
        repo.git.clean("-ffdxq")

    def _commit_of_request(self, repo: Repo, file_path: str) -> str:
        """The tip already holds this exact request (ids are unique): a retry of a push that landed."""
        return str(repo.git.log("-1", "--format=%H", self._tracking_ref, "--", file_path))

    def _commit(self, repo: Repo, file_path: str, content: str, message: str) -> str | None:
        """Commit the request file at `file_path` on the tip; None when the tip already holds exactly this file."""
        data = content.encode("utf-8")
        write_request_file(self._clone_dir, file_path, data)
        # The blob is stored as is (no .gitattributes filter can alter the contract's bytes), and
        # from Python: each git process we do not start saves a few milliseconds per bake.
        objects = LooseObjectDB(str(self._clone_dir / ".git" / "objects"))
        blob = objects.store(IStream("blob", len(data), io.BytesIO(data))).binsha.hex()
        repo.git.update_index("--add", "--cacheinfo", f"100644,{blob},{file_path}")
        message_path = self._clone_dir / ".git" / "BAKERY_COMMIT_MSG"
        message_path.write_bytes(message.encode("utf-8"))
        try:
            repo.git.commit("--quiet", "--no-verify", "--no-gpg-sign", "--cleanup=verbatim", "-F", str(message_path))
        except GitCommandError:
            # Checked only on failure, so a normal bake pays nothing for it.
            unchanged, _, _ = repo.git.diff_index(
                "--cached", "--quiet", "HEAD", with_extended_output=True, with_exceptions=False
            )
            if unchanged == 0:
                return None
            raise
        return SymbolicReference.dereference_recursive(repo, "HEAD")

    def _push(self, repo: Repo) -> bool:
        """Publish the branch; False when the remote moved since our fetch (the caller retries)."""
        ref = f"refs/heads/{self._branch}"
        infos = repo.remote("origin").push(f"{ref}:{ref}", kill_after_timeout=self._timeout)
        info = next((i for i in infos if i.remote_ref_string == ref), None)
        if info is not None and info.flags & PushInfo.REJECTED:
            return False
        if info is not None and info.flags & PushInfo.REMOTE_REJECTED and any(s in info.summary for s in _REF_RACE):
            return False
        if info is not None and info.flags & (PushInfo.ERROR | PushInfo.REMOTE_REJECTED | PushInfo.REMOTE_FAILURE):
            raise RepoError(
                f"git push to {self._display_url} branch {self._branch} was refused: {redact(info.summary.strip())}"
            )
        infos.raise_if_error()
        if info is None:
            raise RepoError(f"git push to {self._display_url} branch {self._branch} reported no result")
        return True
