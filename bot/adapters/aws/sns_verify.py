"""Check that an SNS message was signed by SNS, for one of our topics, recently (as AWS documents it)."""

from __future__ import annotations

import base64
import binascii
import re
import threading
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bot.domain.errors import ForgedMessage

# "Verifying the signatures of Amazon SNS messages" (SNS developer guide).
SNS_HOST_RE = re.compile(r"sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?")
SIGNED_KEYS: dict[str, tuple[str, ...]] = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ),
}
OPTIONAL_SIGNED_KEYS = frozenset({"Subject"})
SIGNATURE_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}

MAX_CERT_BYTES = 64 * 1024  # an SNS signing certificate is about 2 KiB
FETCH_TIMEOUT = 5.0
# SNS signs when it sends; a little clock skew the other way is tolerated, a message from the future is not.
FUTURE_SKEW = timedelta(minutes=5)


class CertificateUnavailable(ForgedMessage):
    """The signing certificate could not be fetched: unverifiable for now, so the sender should retry."""


def is_sns_url(url: str) -> bool:
    """True for an https URL on an SNS host (no credentials, no other port, no whitespace)."""
    if not isinstance(url, str) or re.search(r"[\s\x00-\x1f\x7f]", url):
        return False
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and parts.username is None
        and parts.password is None
        and port in (None, 443)
        and SNS_HOST_RE.fullmatch(parts.hostname or "") is not None
    )


def is_signing_cert_url(url: str) -> bool:
    """An SNS URL whose path is a .pem file, with nothing after it."""
    if not is_sns_url(url):
        return False
    parts = urlsplit(url)
    return parts.path.endswith(".pem") and not parts.query and not parts.fragment


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """The bytes SNS signed: "Key\\nValue\\n" for the message type's keys, in the documented order."""
    keys = SIGNED_KEYS.get(message.get("Type"))  # type: ignore[arg-type]
    if keys is None:
        raise ForgedMessage(f"The SNS message Type {message.get('Type')!r:.40} is not one SNS sends.")
    parts = []
    for key in keys:
        value = message.get(key)
        if value is None and key in OPTIONAL_SIGNED_KEYS:
            continue
        if not isinstance(value, str):
            raise ForgedMessage(f"The SNS message has no {key} string to check the signature over.")
        parts.append(f"{key}\n{value}\n")
    return "".join(parts).encode("utf-8")


def fetch_certificate(url: str, *, timeout: float = FETCH_TIMEOUT, limit: int = MAX_CERT_BYTES) -> bytes:
    """GET a certificate (or any small document) without following redirects; OSError when that fails."""
    return read_url(url, timeout=timeout, limit=limit)


def read_url(url: str, *, timeout: float, limit: int) -> bytes:
    # The URL was validated; a redirect would lead somewhere that was not.
    opener = urllib.request.build_opener(_RefuseRedirects)
    with opener.open(url, timeout=timeout) as response:  # noqa: S310 - callers pass only validated https URLs
        if response.status != 200:
            raise OSError(f"HTTP {response.status} from {url}")
        data = response.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"{url} answered more than {limit} bytes")
    return bytes(data)


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        raise urllib.error.HTTPError(req.full_url, code, f"refused redirect to {newurl}", headers, fp)


class SnsVerifier:
    """Verifies SNS message signatures (SignatureVersion 1 and 2), the topic and the message's age.

    `fetch(url) -> bytes` returns a PEM certificate or raises OSError; certificates are cached by URL (SNS
    rotates them under new URLs), at most `cache_size` of them.
    """

    def __init__(
        self,
        topic_arns: Iterable[str],
        *,
        fetch: Callable[[str], bytes] = fetch_certificate,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_age: timedelta = timedelta(hours=1),
        cache_size: int = 16,
    ):
        self._topics = frozenset(topic_arns)
        self._fetch = fetch
        self._clock = clock
        self._max_age = max_age
        self._cache_size = max(1, cache_size)
        self._keys: OrderedDict[str, tuple[rsa.RSAPublicKey, datetime, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, message: Mapping[str, Any]) -> None:
        """Return if `message` (parsed SNS JSON) is genuine; else raise ForgedMessage saying why."""
        if not isinstance(message, Mapping):
            raise ForgedMessage("The SNS message is not a JSON object.")
        signed = string_to_sign(message)
        # The cheap checks come first: a stranger's post costs no certificate fetch.
        topic = message["TopicArn"]
        if topic not in self._topics:
            raise ForgedMessage(f"The topic {topic!r:.300} is not one the bakery accepts.")
        version = message.get("SignatureVersion")
        algorithm = SIGNATURE_HASHES.get(version) if isinstance(version, str) else None
        if algorithm is None:
            raise ForgedMessage(f"SignatureVersion {version!r:.20} is not 1 or 2.")
        now = self._clock()
        self._check_age(message["Timestamp"], now)
        url = message.get("SigningCertURL")
        if not isinstance(url, str) or not is_signing_cert_url(url):
            raise ForgedMessage("SigningCertURL is not an https .pem URL on an SNS host.")
        signature = _decode_signature(message.get("Signature"))
        key = self._public_key(url, now)
        try:
            key.verify(signature, signed, padding.PKCS1v15(), algorithm())
        except InvalidSignature:
            raise ForgedMessage("The signature does not match the message.") from None

    def _check_age(self, timestamp: str, now: datetime) -> None:
        try:
            sent = datetime.fromisoformat(timestamp)
        except ValueError:
            raise ForgedMessage("The Timestamp is not an ISO 8601 time.") from None
        if sent.tzinfo is None:
            raise ForgedMessage("The Timestamp has no time zone.")
        if now - sent > self._max_age:
            raise ForgedMessage(f"The message is stale: sent {timestamp}, more than {self._max_age} ago.")
        if sent - now > FUTURE_SKEW:
            raise ForgedMessage(f"The message is dated in the future ({timestamp}).")

    def _public_key(self, url: str, now: datetime) -> rsa.RSAPublicKey:
        with self._lock:
            cached = self._keys.get(url)
            if cached is not None:
                self._keys.move_to_end(url)
        if cached is None:
            cached = self._load(url)
            with self._lock:
                self._keys[url] = cached
                while len(self._keys) > self._cache_size:
                    self._keys.popitem(last=False)
        key, not_before, not_after = cached
        if not not_before <= now <= not_after:
            raise ForgedMessage("The signing certificate is not valid at this time.")
        return key

    def _load(self, url: str) -> tuple[rsa.RSAPublicKey, datetime, datetime]:
        try:
            pem = self._fetch(url)
        except OSError as exc:
            raise CertificateUnavailable(f"The signing certificate could not be fetched: {exc}.") from exc
        try:
            cert = x509.load_pem_x509_certificates(pem)[0]
        except ValueError:
            raise ForgedMessage("The signing certificate is not a PEM X.509 certificate.") from None
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise ForgedMessage("The signing certificate's key is not RSA.")
        return key, cert.not_valid_before_utc, cert.not_valid_after_utc


def _decode_signature(value: Any) -> bytes:
    if not isinstance(value, str) or not value or len(value) > 4096:
        raise ForgedMessage("The message has no usable Signature.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ForgedMessage("The Signature is not base64.") from None
