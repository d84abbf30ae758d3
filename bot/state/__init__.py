"""The state store chosen by configuration (`state.backend`): SQLite or DynamoDB."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.state.base import StoreBase

BACKENDS = ("sqlite", "dynamodb")


def open_store(*, backend: str, path: str, table: str, session_factory: Callable[[], Any]) -> StoreBase:
    """Open the configured store. `session_factory` returns a boto3 Session; only DynamoDB calls it.

    Typed as StoreBase rather than bot.ports.StateStore so that callers see `mutate` too.
    """
    # Imported here so the SQLite path never loads botocore, and the DynamoDB path never needs a file.
    if backend == "sqlite":
        from bot.state.sqlite import SqliteStore

        return SqliteStore(path)
    if backend == "dynamodb":
        from bot.state.dynamodb import DynamoStore

        return DynamoStore(session_factory().client("dynamodb"), table)
    raise ValueError(f"unknown state backend {backend!r}; expected one of {', '.join(BACKENDS)}")
