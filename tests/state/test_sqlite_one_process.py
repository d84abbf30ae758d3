"""SQLite state is for one process (CONTRACT §15): a second process on the same file is refused, clearly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.state.sqlite import SqliteStore
from bot.state.sqlite_lock import StateInUse

IMPORT = "import sys; from bot.state.sqlite import SqliteStore; "
HOLD = IMPORT + "s = SqliteStore(sys.argv[1]); print('open', flush=True); sys.stdin.read()"
OPEN = IMPORT + "SqliteStore(sys.argv[1]).close(); print('opened')"


def holder(path: Path) -> subprocess.Popen[str]:
    """Another process holding the state file open until its stdin closes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "open"
    return proc


def opens_elsewhere(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", OPEN, str(path)], capture_output=True, text=True, timeout=30)


def test_a_second_process_on_the_same_file_is_refused_naming_the_file_and_the_holder(tmp_path):
    path = tmp_path / "state.db"
    proc = holder(path)
    try:
        with pytest.raises(StateInUse) as refused:
            SqliteStore(path)
        message = str(refused.value)
        assert str(path) in message and f"pid {proc.pid}" in message
        assert "state.backend: dynamodb" in message
    finally:
        proc.kill()
        proc.wait(timeout=10)
    # Killed without a chance to clean up: the kernel dropped its lock, and the file opens again.
    SqliteStore(path).close()


def test_several_stores_on_one_file_in_one_process_share_the_lock_until_the_last_closes(tmp_path):
    path = tmp_path / "state.db"
    first, second = SqliteStore(path), SqliteStore(path)  # allowed: one process (tests, the sandbox's seeding)
    first.close()  # a POSIX lock would drop with any descriptor closed: the one shared descriptor stays open
    refused = opens_elsewhere(path)
    assert refused.returncode != 0 and "is in use by another process" in refused.stderr
    assert f"pid {os.getpid()}" in refused.stderr
    second.close()
    assert opens_elsewhere(path).stdout.strip() == "opened"
