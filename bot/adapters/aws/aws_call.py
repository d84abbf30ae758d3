"""One AWS API call with its errors turned into the adapter's domain errors, in a sentence a user may read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.domain.errors import BakeryError


def aws_call(
    doing: str,
    operation: Callable[..., dict[str, Any]],
    *,
    errors: Mapping[str, type[BakeryError]],
    default: type[BakeryError],
    service: str,
    **params: Any,
) -> dict[str, Any]:
    """Call `operation(**params)`; `doing` completes "Could not …"; `errors` maps AWS codes to domain errors."""
    try:
        return operation(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "UnknownError"), error.get("Message", "")
        kind = errors.get(code, default)
        raise kind(f"Could not {doing}: {message or code} ({code})") from exc
    except BotoCoreError as exc:
        raise default(f"Could not {doing}: {service} is unreachable ({exc})") from exc
