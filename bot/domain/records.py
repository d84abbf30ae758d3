"""Conditional writes of one stored record: through its domain type (Bake, Rollout …) or as a plain document."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from bot.domain.counts import count
from bot.domain.errors import StateConflict
from bot.domain.ports import StateStore


class Document(Protocol):
    """A domain record stored as one document (Bake, Rollout …)."""

    def to_doc(self) -> dict[str, Any]: ...


T = TypeVar("T", bound=Document)


def rewrite(
    store: StateStore,
    kind: str,
    key: str,
    *,
    load: Callable[[dict[str, Any]], T],
    change: Callable[[T], T | None],
    index_fn: Callable[[dict[str, Any]], str | None] | None = None,
) -> T | None:
    """Apply `change` to the freshest copy (again after a lost race); the new record, or None when nothing
    changed (`change` returned None or an equal record) or the record does not exist."""
    result: list[T] = []

    def fn(doc: dict[str, Any]) -> dict[str, Any] | None:
        result.clear()  # fn may run again after a lost race
        current = load(doc)
        new = change(current)
        if new is None or new == current:
            return None
        result[:] = [new]
        return new.to_doc()

    store.mutate(kind, key, fn, index_fn=index_fn)
    return result[0] if result else None


def rewrite_shown(
    store: StateStore,
    kind: str,
    key: str,
    *,
    load: Callable[[dict[str, Any]], T],
    change: Callable[[T], T | None],
    index_fn: Callable[[dict[str, Any]], str | None],
    now: Callable[[], str],
    mark_dirty: Callable[[str], None],
) -> T | None:
    """`rewrite` for a record with a Slack message (a bake, a rollout): a real change stamps `updated_at`,
    marks the record unsettled (its message now lags it) and tells the publisher to redraw it."""

    def stamped(current: T) -> T | None:
        new = change(current)
        if new is None or new == current:
            return None
        return replace(new, settled=False, updated_at=now())  # type: ignore[type-var]

    after = rewrite(store, kind, key, load=load, change=stamped, index_fn=index_fn)
    if after is not None:
        mark_dirty(key)
    return after


def upsert(
    store: StateStore,
    kind: str,
    key: str,
    change: Callable[[dict[str, Any] | None], dict[str, Any] | None],
    *,
    attempts: int = 10,
) -> dict[str, Any] | None:
    """Create or conditionally rewrite a plain document; `change` gets the current one (None when there is
    none) and returns the new one, or None for "no change". Returns the document as stored.

    Rewrites go through the store's `mutate`, which backs off between lost races and raises StateConflict
    when every attempt lost: a caller never believes a write happened that did not.
    """
    for _ in range(attempts):
        record = store.get(kind, key)
        if record is None:
            new = change(None)
            if new is None:
                return None
            if store.create(kind, key, new):
                return new
            continue  # created meanwhile by another writer: change theirs
        after = store.mutate(kind, key, change)
        if after is not None:
            return after.doc
        # deleted meanwhile: create it again
    tries = count(attempts, "try", "tries")
    raise StateConflict(f"state record {kind}/{key} kept appearing and disappearing; gave up after {tries}")
