"""SQS's checks of a request's members and how it refuses them: SqsError, required, bounded numbers, receipts."""

from __future__ import annotations

import re
from typing import Any

from bot.sandbox.aws.wire import AwsFault

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")  # queue names and batch entry ids alike
_RECEIPT_RE = re.compile(r"^[0-9a-f]{32}:[0-9a-f-]{36}$")
MAX_VISIBILITY = 43_200


class SqsError(AwsFault):
    """An error answered as SQS does: HTTP 400, {"__type": ..., "message": ...} and x-amzn-query-error."""

    def __init__(self, code: str, message: str):
        super().__init__(code, message)


def required(p: dict[str, Any], name: str) -> Any:
    value = p.get(name)
    if value is None or value == "":
        raise SqsError("MissingParameter", f"The request must contain the parameter {name}.")
    return value


def receipt(p: dict[str, Any]) -> str:
    handle = required(p, "ReceiptHandle")
    if not isinstance(handle, str) or not _RECEIPT_RE.match(handle):
        raise SqsError("ReceiptHandleIsInvalid", f'The input receipt handle "{handle}" is not a valid receipt handle.')
    return handle


def bounded(name: str, value: Any, low: int, high: int, code: str = "InvalidParameterValue") -> int:
    # Request members arrive as JSON numbers, queue attributes as strings; both must be whole numbers in range.
    try:
        number = int(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise SqsError(code, f"Value {value!r} for {name} is invalid: must be {low}..{high}.")
    return number
