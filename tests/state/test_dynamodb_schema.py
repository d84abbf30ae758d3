"""The DynamoDB table that ensure_table makes, and the items the store writes into it."""

from __future__ import annotations

import boto3
import pytest

from bot.state.base import StateError
from bot.state.dynamodb import (
    INDEX_KEY,
    INDEX_NAME,
    PARTITION_KEY,
    TABLE_SCHEMA,
    DynamoStore,
    ensure_table,
)

TABLE = "ami-bakery-state-test"


@pytest.fixture
def dynamodb(aws_session: boto3.Session):
    return aws_session.client("dynamodb")


def test_ensure_table_creates_the_schema_the_module_declares(dynamodb):
    ensure_table(dynamodb, TABLE)

    table = dynamodb.describe_table(TableName=TABLE)["Table"]

    assert table["TableStatus"] == "ACTIVE"
    assert table["KeySchema"] == [{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}]
    assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        TABLE_SCHEMA["AttributeDefinitions"], key=lambda a: a["AttributeName"]
    )
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == INDEX_NAME == "by-index"
    assert index["KeySchema"] == [{"AttributeName": INDEX_KEY, "KeyType": "HASH"}]
    assert index["Projection"] == {"ProjectionType": "ALL"}


def test_ensure_table_leaves_an_existing_table_and_its_items_alone(dynamodb):
    ensure_table(dynamodb, TABLE)
    DynamoStore(dynamodb, TABLE).create("bake", "b-1", {"n": 1})

    ensure_table(dynamodb, TABLE)

    assert DynamoStore(dynamodb, TABLE).get("bake", "b-1").doc == {"n": 1}


def test_items_carry_the_documented_attributes_and_the_index_only_when_set(dynamodb):
    ensure_table(dynamodb, TABLE)
    store = DynamoStore(dynamodb, TABLE)
    store.create("bake", "b-1", {"n": 1}, index="active")
    store.create("bake", "b-2", {"n": 2})

    indexed = dynamodb.get_item(TableName=TABLE, Key={PARTITION_KEY: {"S": "bake#b-1"}})["Item"]
    plain = dynamodb.get_item(TableName=TABLE, Key={PARTITION_KEY: {"S": "bake#b-2"}})["Item"]

    assert indexed[INDEX_KEY] == {"S": "bake#active"}
    assert indexed["kind"] == {"S": "bake"} and indexed["key"] == {"S": "b-1"}
    assert indexed["version"] == {"N": "1"} and indexed["doc"] == {"S": '{"n":1}'}
    assert indexed["updated_at"]["S"].endswith("Z")
    assert INDEX_KEY not in plain


def test_a_store_on_a_missing_table_says_which_table_is_missing(dynamodb):
    store = DynamoStore(dynamodb, "no-such-table")

    with pytest.raises(StateError, match="DynamoDB table no-such-table does not exist"):
        store.get("bake", "b-1")
