"""The state store's port: documents with conditional writes, and the leases that fence a leader's writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.domain.fencing import LeaseGrant


@dataclass(frozen=True)
class Record:
    """A stored document and its version (for conditional writes)."""

    kind: str
    key: str
    version: int
    doc: dict[str, Any]


class StateStore(Protocol):
    """A small document store with conditional writes; SQLite and DynamoDB implement it.

    `index` is an optional sparse secondary key: `find(kind, index)` returns every record of that
    kind whose index equals it (for example the bakes still in flight, index "active").
    """

    def get(self, kind: str, key: str) -> Record | None: ...

    def create(self, kind: str, key: str, doc: dict[str, Any], *, index: str | None = None) -> bool:
        """Insert at version 1; False (and nothing written) when the key exists."""
        ...

    def replace(
        self, kind: str, key: str, doc: dict[str, Any], *, expected_version: int, index: str | None = None
    ) -> bool:
        """Write version expected_version+1 only if the stored version is expected_version; else False."""
        ...

    def delete(self, kind: str, key: str, *, expected_version: int | None = None) -> bool: ...

    def find(self, kind: str, index: str) -> list[Record]:
        """Records by sparse index. On DynamoDB this reads a GSI, which is eventually consistent."""
        ...

    def mutate(
        self,
        kind: str,
        key: str,
        fn: Callable[[dict[str, Any]], dict[str, Any] | None],
        *,
        index_fn: Callable[[dict[str, Any]], str | None] | None = None,
        attempts: int = 10,
    ) -> Record | None:
        """Read-modify-write with optimistic concurrency; `fn` may run more than once, so no side effects.

        `fn` returns the new document or None for "no change". Returns the record as it stands, None when
        it does not exist; raises StateConflict when every attempt lost a race.
        """
        ...

    # Leases (bot.domain.fencing). Writes made inside `fenced(fence)` are conditional on the fence's lease.
    def lease_of(self, name: str) -> LeaseGrant | None: ...

    def acquire_lease(self, name: str, holder: str, ttl: float, *, now: float | None = None) -> LeaseGrant | None:
        """Take a free or lapsed lease (next token) or extend our own; None while another holds it."""
        ...

    def renew_lease(self, grant: LeaseGrant, ttl: float, *, now: float | None = None) -> LeaseGrant | None:
        """Extend a lease still held with the grant's token; None once it lapsed or changed hands."""
        ...

    def release_lease(self, grant: LeaseGrant) -> bool: ...

    def close(self) -> None: ...
