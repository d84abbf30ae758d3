"""The StateStore on one DynamoDB table (single-table design, sparse GSI for `find`)."""

from __future__ import annotations

import copy
import time
from typing import Any, cast

from botocore.exceptions import BotoCoreError, ClientError

from bot.domain.fencing import LEASE, Fence, FenceLost, current_fence
from bot.domain.ports import Record
from bot.state.base import StateError, StoreBase, decode_doc, encode_doc, now_iso

# The table's schema. infra/cloudformation and its test import these, so the template, ensure_table
# and the store cannot drift apart.
PARTITION_KEY = "pk"  # S: key_of(kind, key)
INDEX_NAME = "by-index"
INDEX_KEY = "gsi1"  # S: index_key_of(kind, index); absent when the record has no index (sparse)
ATTR_KIND = "kind"
ATTR_KEY = "key"
ATTR_VERSION = "version"  # N
ATTR_DOC = "doc"  # S: the document as JSON text
ATTR_UPDATED_AT = "updated_at"  # S: ISO 8601 UTC
# Lease items (bot.domain.fencing) also carry their holder, token and expiry as attributes, so that another
# item's write can be made conditional on them in one transaction (a fenced write).
ATTR_LEASE_HOLDER = "lease_holder"  # S
ATTR_LEASE_FENCE = "lease_fence"  # N: the fencing token
ATTR_LEASE_EXPIRES = "lease_expires"  # N: epoch seconds

# Named like AWS::DynamoDB::Table's properties, so a template test can compare them one for one.
TABLE_SCHEMA: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
        {"AttributeName": INDEX_KEY, "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": INDEX_NAME,
            "KeySchema": [{"AttributeName": INDEX_KEY, "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


def _escape_kind(kind: str) -> str:
    # Percent-encoding "%" and "#" leaves no "#" in the kind, so the first "#" of a key ends the kind:
    # ("a#b", "c") -> "a%23b#c" while ("a", "b#c") -> "a#b#c". Common kinds ("bake") read unchanged.
    return kind.replace("%", "%25").replace("#", "%23")


def key_of(kind: str, key: str) -> str:
    return f"{_escape_kind(kind)}#{key}"


def index_key_of(kind: str, index: str) -> str:
    return f"{_escape_kind(kind)}#{index}"


class DynamoStore(StoreBase):
    """Documents as items keyed by `pk`; conditional writes are put/delete with a version condition.

    boto3 clients are thread-safe, so threads share the client and need no lock. Reads by key are
    strongly consistent; `find` reads a GSI, which DynamoDB keeps eventually consistent, so a record
    written a moment ago may be missing from it (or be an older version) for a short while.
    """

    def __init__(self, client: Any, table_name: str) -> None:
        super().__init__()
        self._client = client
        self._table = table_name

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return cast(dict[str, Any], getattr(self._client, operation)(TableName=self._table, **kwargs))
        except ClientError as e:
            if _code(e) == "ConditionalCheckFailedException":
                raise _ConditionFailed from e
            raise _state_error(e, operation, self._table) from e
        except BotoCoreError as e:
            raise StateError(f"DynamoDB {operation} on table {self._table} failed: {e}") from e

    def _write(self, operation: str, **kwargs: Any) -> bool:
        """A conditional write: False when its condition did not hold. Fenced in a fenced context."""
        fence = current_fence()
        if fence is not None:
            return self._fenced_write(fence, operation, kwargs)
        try:
            self._call(operation, **kwargs)
        except _ConditionFailed:
            return False
        return True

    def _fenced_write(self, fence: Fence, operation: str, kwargs: dict[str, Any]) -> bool:
        """The write and a check of the fence's lease in one transaction: both hold, or nothing is written.

        Raises FenceLost when the lease no longer names the fence's holder and token, or has expired;
        returns False when only the write's own condition failed.
        """
        check = {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": {PARTITION_KEY: {"S": key_of(LEASE, fence.name)}},
                "ConditionExpression": "#h = :h AND #t = :t AND #e > :now",
                "ExpressionAttributeNames": {"#h": ATTR_LEASE_HOLDER, "#t": ATTR_LEASE_FENCE, "#e": ATTR_LEASE_EXPIRES},
                "ExpressionAttributeValues": {
                    ":h": {"S": fence.holder},
                    ":t": {"N": str(fence.token)},
                    ":now": {"N": repr(time.time())},
                },
            }
        }
        write = {"TableName": self._table, **kwargs}
        kind = {"put_item": "Put", "delete_item": "Delete"}[operation]
        write.pop("ReturnValues", None)
        try:
            self._client.transact_write_items(TransactItems=[check, {kind: write}])
        except ClientError as e:
            if _code(e) != "TransactionCanceledException":
                raise _state_error(e, "transact_write_items", self._table) from e
            reasons = [r.get("Code", "None") for r in e.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise FenceLost(fence) from e
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                return False
            raise _state_error(e, "transact_write_items", self._table) from e
        except BotoCoreError as e:
            raise StateError(f"DynamoDB transact_write_items on table {self._table} failed: {e}") from e
        return True

    def _item(self, kind: str, key: str, doc: dict[str, Any], version: int, index: str | None) -> dict[str, Any]:
        item = {
            PARTITION_KEY: {"S": key_of(kind, key)},
            ATTR_KIND: {"S": kind},
            ATTR_KEY: {"S": key},
            ATTR_VERSION: {"N": str(version)},
            ATTR_DOC: {"S": encode_doc(kind, key, doc)},
            ATTR_UPDATED_AT: {"S": now_iso()},
        }
        if index is not None:
            item[INDEX_KEY] = {"S": index_key_of(kind, index)}
        if kind == LEASE:
            item[ATTR_LEASE_HOLDER] = {"S": str(doc["holder"])}
            item[ATTR_LEASE_FENCE] = {"N": str(int(doc["token"]))}
            item[ATTR_LEASE_EXPIRES] = {"N": repr(float(doc["expires_at"]))}
        return item

    @staticmethod
    def _record(item: dict[str, Any]) -> tuple[Record, str | None]:
        kind = item[ATTR_KIND]["S"]
        record = Record(kind, item[ATTR_KEY]["S"], int(item[ATTR_VERSION]["N"]), decode_doc(item[ATTR_DOC]["S"]))
        gsi = item.get(INDEX_KEY, {}).get("S")
        return record, (gsi[len(_escape_kind(kind)) + 1 :] if gsi is not None else None)

    def _load(self, kind: str, key: str) -> tuple[Record, str | None] | None:
        # Consistent reads: a stale version would only buy a lost race in the conditional write after it.
        response = self._call("get_item", Key={PARTITION_KEY: {"S": key_of(kind, key)}}, ConsistentRead=True)
        return self._record(response["Item"]) if "Item" in response else None

    def create(self, kind: str, key: str, doc: dict[str, Any], *, index: str | None = None) -> bool:
        return self._write(
            "put_item",
            Item=self._item(kind, key, doc, 1, index),
            ConditionExpression="attribute_not_exists(#pk)",
            ExpressionAttributeNames={"#pk": PARTITION_KEY},
        )

    def replace(
        self, kind: str, key: str, doc: dict[str, Any], *, expected_version: int, index: str | None = None
    ) -> bool:
        # A missing item has no version, so the condition also fails (False) when the key is absent.
        return self._write(
            "put_item",
            Item=self._item(kind, key, doc, expected_version + 1, index),
            ConditionExpression="#v = :v",
            ExpressionAttributeNames={"#v": ATTR_VERSION},
            ExpressionAttributeValues={":v": {"N": str(expected_version)}},
        )

    def delete(self, kind: str, key: str, *, expected_version: int | None = None) -> bool:
        pk = {PARTITION_KEY: {"S": key_of(kind, key)}}
        if expected_version is None:
            if current_fence() is not None:  # a transaction returns no old item: ask for one to exist
                return self._write(
                    "delete_item", Key=pk, ConditionExpression="attribute_exists(#pk)",
                    ExpressionAttributeNames={"#pk": PARTITION_KEY},
                )  # fmt: skip
            # Unconditional: the old item tells whether there was anything to delete.
            response = self._call("delete_item", Key=pk, ReturnValues="ALL_OLD")
            return "Attributes" in response
        return self._write(
            "delete_item",
            Key=pk,
            ConditionExpression="#v = :v",
            ExpressionAttributeNames={"#v": ATTR_VERSION},
            ExpressionAttributeValues={":v": {"N": str(expected_version)}},
        )

    def find(self, kind: str, index: str) -> list[Record]:
        query: dict[str, Any] = {
            "IndexName": INDEX_NAME,
            "KeyConditionExpression": "#g = :g",
            "ExpressionAttributeNames": {"#g": INDEX_KEY},
            "ExpressionAttributeValues": {":g": {"S": index_key_of(kind, index)}},
        }
        records: list[Record] = []
        while True:
            page = self._call("query", **query)
            records.extend(self._record(item)[0] for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        # Same order as the SQLite store, so callers never depend on a backend's accident.
        return sorted(records, key=lambda r: r.key)

    def close(self) -> None:
        """Nothing to release: the client belongs to whoever made it."""


def ensure_table(client: Any, table_name: str) -> None:
    """Create the state table with TABLE_SCHEMA if it is missing, and wait until it is active.

    For tests and the offline sandbox only: production tables come from CloudFormation.
    """
    try:
        client.describe_table(TableName=table_name)
    except ClientError as e:
        if _code(e) != "ResourceNotFoundException":
            raise _state_error(e, "describe_table", table_name) from e
        try:
            client.create_table(TableName=table_name, **copy.deepcopy(TABLE_SCHEMA))
        except ClientError as e2:
            # Another process created it between our two calls: fine, wait for it like our own.
            if _code(e2) != "ResourceInUseException":
                raise _state_error(e2, "create_table", table_name) from e2
    try:
        client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    except BotoCoreError as e:
        raise StateError(f"DynamoDB table {table_name} did not become active: {e}") from e


class _ConditionFailed(Exception):
    """A conditional write's condition did not hold: an expected outcome, reported as False."""


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _state_error(error: ClientError, operation: str, table: str) -> StateError:
    code = _code(error)
    if code == "ResourceNotFoundException":
        return StateError(f"DynamoDB table {table} does not exist in this account and region (check state.table)")
    if code in {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}:
        return StateError(f"DynamoDB is throttling {operation} on table {table}; try again shortly")
    message = error.response.get("Error", {}).get("Message", "")
    return StateError(f"DynamoDB {operation} on table {table} failed: {code}: {message}")
