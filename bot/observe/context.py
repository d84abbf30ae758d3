"""Ids bound to everything logged while they are known: `with bound(request_id=…):` (contextvars).

Each thread (and each job a bake worker runs in a copy of its submitter's context) sees its own ids; the
JSON log format merges them into every record (bot/observe/logfields.py); the text format leaves them out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

_IDS: ContextVar[Mapping[str, str]] = ContextVar("bakery_log_ids", default=MappingProxyType({}))


@contextmanager
def bound(**ids: str | None) -> Iterator[None]:
    """Bind these ids (empty and None ones are skipped) for the block; the outer ones come back after it."""
    known = {k: str(v) for k, v in ids.items() if v}
    if not known:
        yield
        return
    token = _IDS.set({**_IDS.get(), **known})
    try:
        yield
    finally:
        _IDS.reset(token)


def current() -> Mapping[str, str]:
    """The ids bound here now."""
    return _IDS.get()
