"""POST /sns without a web framework: verify each SNS delivery, confirm subscriptions, pass the rest on."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from bot.adapters.aws.sns_verify import CertificateUnavailable, SnsVerifier, is_sns_url, read_url
from bot.domain.errors import BadMessage, ForgedMessage
from bot.domain.models import MAX_BODY_BYTES

logger = logging.getLogger(__name__)

MESSAGE_TYPE_HEADER = "x-amz-sns-message-type"
CONFIRM_TIMEOUT = 10.0


def confirm_by_get(url: str) -> None:
    """Confirm a subscription by GET of its SubscribeURL (already validated); OSError when that fails."""
    read_url(url, timeout=CONFIRM_TIMEOUT, limit=64 * 1024)


class SnsEndpoint:
    """Answers SNS HTTPS deliveries: `handle(headers, body) -> (status, json_body)`.

    `deliver(body, message_id)` receives the verified envelope's text (it parses and applies it, and raises
    BadMessage when it cannot read it); `confirm(url)` GETs a SubscribeURL. Nothing unverified is delivered.
    """

    def __init__(
        self,
        verifier: SnsVerifier,
        deliver: Callable[[str, str], object],
        *,
        confirm: Callable[[str], None] = confirm_by_get,
        log: logging.Logger = logger,
        on_lag: Callable[[float], None] = lambda seconds: None,
    ):
        self._verifier = verifier
        self._deliver = deliver
        self._confirm = confirm
        self._log = log
        self._on_lag = on_lag  # seconds from the message's Timestamp to now (`bakery_intake_lag_seconds`)

    def handle(self, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        if len(body) > MAX_BODY_BYTES:
            return _error(413, f"The body is over {MAX_BODY_BYTES // 1024} KiB.")
        try:
            # SNS sends JSON as text/plain: the Content-Type says nothing, so it is not looked at.
            text = body.decode("utf-8")
            message = json.loads(text)
        except ValueError:  # UnicodeDecodeError and JSONDecodeError both are
            return _error(400, "The body is not JSON.")
        if not isinstance(message, dict):
            return _error(400, "The body is not a JSON object.")

        kind = message.get("Type")
        header_kind = _header(headers, MESSAGE_TYPE_HEADER)
        if header_kind is not None and header_kind != kind:
            return self._refuse(message, f"The {MESSAGE_TYPE_HEADER} header does not match the body's Type.")
        try:
            self._verifier.verify(message)
        except CertificateUnavailable as exc:
            # Not proven forged, only unverifiable for now: a 5xx makes SNS deliver it again later.
            self._log.warning(
                "sns.certificate_unavailable message_id=%.100s reason=%s", message.get("MessageId"), exc
            )
            return _error(503, str(exc))
        except ForgedMessage as exc:
            return self._refuse(message, str(exc))

        message_id = message["MessageId"]
        topic = message["TopicArn"]
        if kind == "SubscriptionConfirmation":
            return self._confirm_subscription(message, message_id, topic)
        if kind == "UnsubscribeConfirmation":
            self._log.warning("sns.unsubscribed topic=%s message_id=%s", topic, message_id)
            return 200, {"status": "unsubscribed"}
        lag = seconds_since(message.get("Timestamp"))
        if lag is not None:
            self._on_lag(lag)
        return self._notification(text, message_id, topic)

    def _confirm_subscription(
        self, message: Mapping[str, Any], message_id: str, topic: str
    ) -> tuple[int, dict[str, Any]]:
        url = message["SubscribeURL"]  # a signed field: verify() made sure it is a string
        if not is_sns_url(url):
            return self._refuse(message, "The SubscribeURL is not an https URL on an SNS host.")
        try:
            self._confirm(url)
        except OSError as exc:
            self._log.warning("sns.confirm_failed topic=%s message_id=%s reason=%s", topic, message_id, exc)
            return _error(502, "The subscription could not be confirmed; SNS will send the request again.")
        self._log.info("sns.subscription_confirmed topic=%s message_id=%s", topic, message_id)
        return 200, {"status": "confirmed"}

    def _notification(self, text: str, message_id: str, topic: str) -> tuple[int, dict[str, Any]]:
        try:
            self._deliver(text, message_id)
        except BadMessage as exc:
            # Genuine but unreadable: a 4xx, since sending it again cannot make it readable.
            self._log.warning("sns.bad_message topic=%s message_id=%s reason=%s", topic, message_id, exc)
            return _error(400, str(exc))
        except Exception:  # noqa: BLE001 - logged with its traceback; the 500 makes SNS retry
            self._log.exception("sns.deliver_failed topic=%s message_id=%s", topic, message_id)
            return _error(500, "The notification could not be applied; SNS will retry.")
        return 200, {"status": "delivered", "message_id": message_id}

    def _refuse(self, message: Mapping[str, Any], reason: str) -> tuple[int, dict[str, Any]]:
        # %.100s: these fields came from an unverified sender, so only a bounded prefix is logged.
        self._log.warning(
            "sns.refused type=%.40s topic=%.300s message_id=%.100s reason=%s",
            message.get("Type"), message.get("TopicArn"), message.get("MessageId"), reason,
        )
        return _error(403, reason)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _error(status: int, reason: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": reason}


def seconds_since(timestamp: object) -> float | None:
    """Seconds from an SNS message's Timestamp ("2026-12-01T10:00:00.000Z") to now; None when it is not one."""
    if not isinstance(timestamp, str):
        return None
    try:
        sent = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if sent.tzinfo is None:
        return None
    return max(0.0, (datetime.now(UTC) - sent).total_seconds())
