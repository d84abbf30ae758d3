"""Fixtures of the state store tests: each runs on SQLite on a file and on DynamoDB on moto."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.state.base import StoreBase
from bot.state.dynamodb import DynamoStore, ensure_table
from bot.state.sqlite import SqliteStore
from tests.fixtures.aws import REGION, new_session

TABLE = "ami-bakery-state-test"


@pytest.fixture(scope="module")
def dynamodb_client(moto_endpoint: str):
    """One client for the module: building one costs 0.1-0.3 s, and the `moto` fixture resets per test."""
    return new_session(REGION).client("dynamodb")


@pytest.fixture(params=["sqlite", "dynamodb"])
def open_same_store(request: pytest.FixtureRequest, tmp_path: Path):
    """Opens another store object on the same data each call, as another bot process would."""
    opened: list[StoreBase] = []
    if request.param == "sqlite":
        # A parent directory that does not exist yet: the store must create it.
        path = tmp_path / "state" / "bakery.db"

        def open_one() -> StoreBase:
            return SqliteStore(path)
    else:
        request.getfixturevalue("moto")  # a freshly reset server
        client = request.getfixturevalue("dynamodb_client")  # thread-safe, so every store shares it
        ensure_table(client, TABLE)

        def open_one() -> StoreBase:
            return DynamoStore(client, TABLE)

    def open_and_remember() -> StoreBase:
        opened.append(open_one())
        return opened[-1]

    yield open_and_remember
    for each in opened:
        each.close()


@pytest.fixture
def store(open_same_store) -> StoreBase:
    return open_same_store()
