"""What both state stores share: document encoding, the size limit, errors and read-modify-write."""

from __future__ import annotations

import copy
import json
import random
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from bot.domain.counts import count
from bot.domain.errors import BakeryError, StateConflict
from bot.domain.fencing import LEASE, LeaseGrant, unfenced
from bot.domain.ports import Record

# DynamoDB refuses items over 400 KB; the margin leaves room for the key attributes. SQLite applies the
# same limit so a document that works in the sandbox cannot fail only in production.
MAX_DOC_BYTES = 350 * 1024

# Backoff between mutate attempts, in multiples of how long the lost attempt took, so it suits both
# SQLite (microseconds) and DynamoDB (milliseconds); jittered so the losers of one race spread out.
_BACKOFF_FLOOR_S = 0.001
_BACKOFF_CAP_S = 1.0

# Lock stripes for mutate: bounded memory however many keys pass through.
_MUTATE_STRIPES = 64

Mutation = Callable[[dict[str, Any]], dict[str, Any] | None]
IndexOf = Callable[[dict[str, Any]], str | None]


class StateError(BakeryError):
    """The state store failed (database error, missing table, throttling, bad document)."""


class DocumentTooLarge(StateError):
    """A document serialises to more than MAX_DOC_BYTES."""


def encode_doc(kind: str, key: str, doc: dict[str, Any]) -> str:
    """The document as compact JSON text, refusing what DynamoDB could not store."""
    if not isinstance(doc, dict):
        raise TypeError(f"state documents are dicts, not {type(doc).__name__}")
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    size = len(text.encode("utf-8"))
    if size > MAX_DOC_BYTES:
        raise DocumentTooLarge(
            f"state document {kind}/{key} is {size // 1024} KB; the limit is {MAX_DOC_BYTES // 1024} KB"
        )
    return text


def decode_doc(text: str) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(text))


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class StoreBase(ABC):
    """A bot.ports.StateStore plus `mutate`, which is written once here on each backend's primitives."""

    def __init__(self) -> None:
        self._mutate_locks = [threading.RLock() for _ in range(_MUTATE_STRIPES)]

    @abstractmethod
    def _load(self, kind: str, key: str) -> tuple[Record, str | None] | None:
        """The record and its index, or None. Needed because Record does not carry the index."""

    @abstractmethod
    def create(self, kind: str, key: str, doc: dict[str, Any], *, index: str | None = None) -> bool: ...

    @abstractmethod
    def replace(
        self, kind: str, key: str, doc: dict[str, Any], *, expected_version: int, index: str | None = None
    ) -> bool: ...

    @abstractmethod
    def delete(self, kind: str, key: str, *, expected_version: int | None = None) -> bool: ...

    @abstractmethod
    def find(self, kind: str, index: str) -> list[Record]: ...

    @abstractmethod
    def close(self) -> None: ...

    def get(self, kind: str, key: str) -> Record | None:
        loaded = self._load(kind, key)
        return loaded[0] if loaded else None

    def mutate(
        self,
        kind: str,
        key: str,
        fn: Mutation,
        *,
        index_fn: IndexOf | None = None,
        attempts: int = 10,
    ) -> Record | None:
        """Read-modify-write with optimistic concurrency; return the record as it now stands.

        `fn` gets its own copy of the document and returns the new one, or None for "no change"
        (then nothing is written and the stored record is returned). `fn` may run more than once, so
        it must not have side effects. `index_fn(new_doc)` gives the new index; without it the stored
        index is kept, so a mutation cannot silently drop a record out of `find`. Returns None when the
        record does not exist; raises StateConflict when every attempt lost a race.

        Mutations of one record by threads of this store take turns (a striped lock): otherwise a
        busy record starves its unlucky writers, since each new caller retries sooner than an old one
        that has backed off. The conditional write still guards against other processes and writers.
        """
        with self._mutate_locks[hash((kind, key)) % _MUTATE_STRIPES]:
            return self._mutate(kind, key, fn, index_fn, attempts)

    def _mutate(self, kind: str, key: str, fn: Mutation, index_fn: IndexOf | None, attempts: int) -> Record | None:
        for attempt in range(attempts):
            started = time.monotonic()
            loaded = self._load(kind, key)
            if loaded is None:
                return None
            record, index = loaded
            # A copy, so that an fn which edits in place and then answers None leaves `record` true.
            new_doc = fn(copy.deepcopy(record.doc))
            if new_doc is None:
                return record
            new_index = index_fn(new_doc) if index_fn else index
            if self.replace(kind, key, new_doc, expected_version=record.version, index=new_index):
                # Decoded from the encoding we stored, so the caller sees exactly what a reader will.
                return Record(kind, key, record.version + 1, decode_doc(encode_doc(kind, key, new_doc)))
            if attempt + 1 < attempts:
                took = max(_BACKOFF_FLOOR_S, time.monotonic() - started)
                time.sleep(random.uniform(0, min(_BACKOFF_CAP_S, took * 2**attempt)))  # noqa: S311
        raise StateConflict(f"state record {kind}/{key} kept changing; gave up after {count(attempts, 'attempt')}")

    # Leases (bot.domain.fencing): records of kind LEASE, written unfenced. Expiry is wall-clock time, so the
    # replicas' clocks must agree to well within a lease's length (NTP; on AWS the Amazon Time Sync Service).

    def lease_of(self, name: str) -> LeaseGrant | None:
        record = self.get(LEASE, name)
        return _grant(record) if record is not None else None

    def acquire_lease(self, name: str, holder: str, ttl: float, *, now: float | None = None) -> LeaseGrant | None:
        """Take lease `name` for `ttl` seconds when it is free or has lapsed (a new token), or extend our own.

        None when another holder has it and it has not expired, or when another replica won the race for it.
        """
        now = time.time() if now is None else now
        with unfenced():
            record = self.get(LEASE, name)
            if record is None:
                grant = LeaseGrant(name, holder, 1, now + ttl)
                return grant if self.create(LEASE, name, _lease_doc(grant)) else None
            held = _grant(record)
            if held.holder == holder and held.expires_at > now:
                grant = LeaseGrant(name, holder, held.token, now + ttl)
            elif held.expires_at <= now:
                grant = LeaseGrant(name, holder, held.token + 1, now + ttl)
            else:
                return None
            return grant if self.replace(LEASE, name, _lease_doc(grant), expected_version=record.version) else None

    def renew_lease(self, grant: LeaseGrant, ttl: float, *, now: float | None = None) -> LeaseGrant | None:
        """Extend a lease we still hold with the same token; None when it lapsed or changed hands."""
        now = time.time() if now is None else now
        with unfenced():
            record = self.get(LEASE, grant.name)
            if record is None:
                return None
            held = _grant(record)
            if (held.holder, held.token) != (grant.holder, grant.token) or held.expires_at <= now:
                return None
            renewed = LeaseGrant(grant.name, grant.holder, grant.token, now + ttl)
            ok = self.replace(LEASE, grant.name, _lease_doc(renewed), expected_version=record.version)
            return renewed if ok else None

    def release_lease(self, grant: LeaseGrant) -> bool:
        """Hand a lease back at once (expired now, token kept so the next holder's is higher)."""
        with unfenced():
            record = self.get(LEASE, grant.name)
            if record is None:
                return False
            held = _grant(record)
            if (held.holder, held.token) != (grant.holder, grant.token):
                return False
            released = LeaseGrant(grant.name, grant.holder, grant.token, 0.0)
            return self.replace(LEASE, grant.name, _lease_doc(released), expected_version=record.version)


def _lease_doc(grant: LeaseGrant) -> dict[str, Any]:
    return {"holder": grant.holder, "token": grant.token, "expires_at": grant.expires_at}


def _grant(record: Record) -> LeaseGrant:
    doc = record.doc
    return LeaseGrant(record.key, str(doc["holder"]), int(doc["token"]), float(doc["expires_at"]))
