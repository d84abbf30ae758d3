"""The StateStore on one SQLite file: the default backend, and the sandbox's."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.domain.fencing import LEASE, Fence, FenceLost, current_fence
from bot.domain.ports import Record
from bot.state.base import StateError, StoreBase, decode_doc, encode_doc, now_iso
from bot.state.sqlite_lock import hold, let_go

BUSY_TIMEOUT_MS = 5000

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS records (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        version INTEGER NOT NULL,
        doc TEXT NOT NULL,
        idx TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (kind, key)
    )
    """,
    "CREATE INDEX IF NOT EXISTS records_by_idx ON records (kind, idx)",
)


class SqliteStore(StoreBase):
    """Documents in a `records` table; conditional writes are single UPDATE/DELETE ... WHERE version=?.

    One process only: a second process opening the same file is refused (bot.state.sqlite_lock). One
    connection guarded by a lock, shared by every thread: `:memory:` databases exist per
    connection, so per-thread connections would each see a different empty store; and the bot writes
    a few small rows a second, which one serialised connection handles with room to spare (SQLite
    allows one writer at a time anyway). WAL and busy_timeout still matter for other processes that
    open the file, such as an operator's `sqlite3` shell.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        path = os.fspath(path)
        self._lock = threading.Lock()
        on_disk = path != ":memory:" and not path.startswith("file:")
        try:
            if on_disk:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StateError(f"cannot open the state database {path}: {e}") from e
        # One process only (CONTRACT §15): refused here, before anything is read or written, if another holds it.
        self._held = hold(path) if on_disk else None
        try:
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as e:
            self._let_go()
            raise StateError(f"cannot open the state database {path}: {e}") from e
        self._path = path
        try:
            with self._db() as db:
                # busy_timeout first: switching to WAL takes a lock another process may hold.
                db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                for statement in _SCHEMA:
                    db.execute(statement)
        except StateError:
            self.close()
            raise

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as e:
                raise StateError(f"state database {self._path}: {e}") from e

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """The connection for one write: inside a transaction that first checks the context's fence, if any."""
        fence = current_fence()
        with self._db() as db:
            if fence is None:
                yield db
                return
            db.execute("BEGIN IMMEDIATE")
            try:
                _check_fence(db, fence)
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _load(self, kind: str, key: str) -> tuple[Record, str | None] | None:
        with self._db() as db:
            row = db.execute("SELECT version, doc, idx FROM records WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        if row is None:
            return None
        return Record(kind, key, row[0], decode_doc(row[1])), row[2]

    def create(self, kind: str, key: str, doc: dict[str, Any], *, index: str | None = None) -> bool:
        text = encode_doc(kind, key, doc)
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO records (kind, key, version, doc, idx, updated_at) VALUES (?, ?, 1, ?, ?, ?)"
                " ON CONFLICT (kind, key) DO NOTHING",
                (kind, key, text, index, now_iso()),
            )
            return cur.rowcount == 1

    def replace(
        self, kind: str, key: str, doc: dict[str, Any], *, expected_version: int, index: str | None = None
    ) -> bool:
        text = encode_doc(kind, key, doc)
        with self._write() as db:
            cur = db.execute(
                "UPDATE records SET version = version + 1, doc = ?, idx = ?, updated_at = ?"
                " WHERE kind = ? AND key = ? AND version = ?",
                (text, index, now_iso(), kind, key, expected_version),
            )
            return cur.rowcount == 1

    def delete(self, kind: str, key: str, *, expected_version: int | None = None) -> bool:
        sql = "DELETE FROM records WHERE kind = ? AND key = ?"
        params: tuple[Any, ...] = (kind, key)
        if expected_version is not None:
            sql += " AND version = ?"
            params += (expected_version,)
        with self._write() as db:
            return db.execute(sql, params).rowcount == 1

    def find(self, kind: str, index: str) -> list[Record]:
        with self._db() as db:
            rows = db.execute(
                "SELECT key, version, doc FROM records WHERE kind = ? AND idx = ? ORDER BY key", (kind, index)
            ).fetchall()
        return [Record(kind, key, version, decode_doc(doc)) for key, version, doc in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._let_go()

    def _let_go(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            let_go(held)


def _check_fence(db: sqlite3.Connection, fence: Fence) -> None:
    row = db.execute("SELECT doc FROM records WHERE kind = ? AND key = ?", (LEASE, fence.name)).fetchone()
    lease = decode_doc(row[0]) if row else {}
    held = lease.get("holder") == fence.holder and lease.get("token") == fence.token
    if not held or float(lease.get("expires_at", 0)) <= time.time():
        raise FenceLost(fence)
