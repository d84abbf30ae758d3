"""Conditional rewrites of one stored record through its domain type (Bake, Rollout …)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def rewrite(
    store: Any,
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
        return new.to_doc()  # type: ignore[attr-defined]

    store.mutate(kind, key, fn, index_fn=index_fn)
    return result[0] if result else None
