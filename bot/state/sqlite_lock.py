"""SQLite state is for one process (CONTRACT §15): a lock on a file beside the database, held while it is open.

Two bot processes on one SQLite file would each lead every loop and post every message twice; they cannot
be fenced against each other the way DynamoDB replicas are. So the first process to open the file takes an
exclusive `fcntl` lock on `<file>.lock` (and writes its pid there); a second one is refused, naming the file
and that pid. The kernel drops the lock when the holder exits, however it exits (even SIGKILL).

POSIX record locks belong to the process and are dropped when *any* descriptor of the file is closed, so the
lock file is opened once per process and per database, and counted: several stores on one file inside one
process (tests, the sandbox's seeding) share it, and the lock goes when the last of them closes.
"""

from __future__ import annotations

import fcntl
import os
import threading

from bot.state.base import StateError

REPLICAS_HINT = "SQLite state is for one process; to run replicas, use state.backend: dynamodb"


class StateInUse(StateError):
    """Another process holds the SQLite state file."""

    def __init__(self, path: str, pid: str):
        holder = f"pid {pid}" if pid else "a process whose pid it did not write"
        super().__init__(f"the state database {path} is in use by another process ({holder}). {REPLICAS_HINT}")
        self.path = path
        self.pid = pid


_lock = threading.Lock()
_held: dict[str, tuple[int, int]] = {}  # lock file path -> (descriptor, how many open stores use it)


def lock_path(db_path: str) -> str:
    return f"{os.path.realpath(db_path)}.lock"


def hold(db_path: str) -> str:
    """Take (or share, within this process) the lock of `db_path`; returns the key to `let_go` with."""
    key = lock_path(db_path)
    with _lock:
        if key in _held:
            fd, users = _held[key]
            _held[key] = (fd, users + 1)
            return key
        try:
            fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise StateError(f"cannot open the state database's lock file {key}: {e.strerror or e}") from e
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pid = _holder_pid(fd)
            os.close(fd)
            raise StateInUse(db_path, pid) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held[key] = (fd, 1)
        return key


def let_go(key: str) -> None:
    with _lock:
        if key not in _held:
            return
        fd, users = _held[key]
        if users > 1:
            _held[key] = (fd, users - 1)
            return
        del _held[key]
        os.close(fd)  # drops the lock


def _holder_pid(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        return ""
