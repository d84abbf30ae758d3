"""SNS deliveries are believed only when signed by SNS's certificate, for our topics, recently."""

from __future__ import annotations

import base64
import http.server
import json
import logging
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from bot.adapters.aws.sns_http import SnsEndpoint
from bot.adapters.aws.sns_verify import CertificateUnavailable, SnsVerifier, read_url
from bot.domain.errors import BadMessage, ForgedMessage
from bot.domain.models import PipelineEvent
from bot.intake.parse import parse_body

NOW = datetime(2026, 11, 26, 9, 15, tzinfo=UTC)
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ami-bakery-events"
CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem"
SUBSCRIBE_URL = (
    "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
    f"{TOPIC}&Token=2336412f37fb687f5d51e6e2425c464de12884ee"
)
EVENT = Path(__file__).parent.parent / "data" / "events" / "codepipeline-stage-succeeded.json"

# The SNS developer guide's key order, written out again here so a mistake in the adapter's copy shows.
NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")


def make_cert(key: rsa.RSAPrivateKey, *, not_after: datetime = NOW + timedelta(days=365)) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=30))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def sns_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class CertHost:
    """Serves PEM certificates by URL, as SNS does, and counts the fetches."""

    def __init__(self, certs: dict[str, bytes]):
        self.certs = dict(certs)
        self.fetched: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.fetched.append(url)
        if url not in self.certs:
            raise OSError(f"HTTP 404 from {url}")
        return self.certs[url]


@pytest.fixture
def certs(sns_key: rsa.RSAPrivateKey) -> CertHost:
    return CertHost({CERT_URL: make_cert(sns_key)})


@pytest.fixture
def verifier(certs: CertHost) -> SnsVerifier:
    return SnsVerifier([TOPIC], fetch=certs, clock=lambda: NOW)


def sign(doc: dict[str, Any], key: rsa.RSAPrivateKey, version: str = "2") -> dict[str, Any]:
    keys = NOTIFICATION_KEYS if doc["Type"] == "Notification" else CONFIRMATION_KEYS
    text = "".join(f"{k}\n{doc[k]}\n" for k in keys if k in doc)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS SignatureVersion 1
    signature = key.sign(text.encode(), padding.PKCS1v15(), algorithm)
    return {**doc, "SignatureVersion": version, "Signature": base64.b64encode(signature).decode()}


def notification(key: rsa.RSAPrivateKey, *, version: str = "2", sign_with: dict | None = None, **fields: Any):
    doc = {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Message": EVENT.read_text(),
        "Timestamp": (NOW - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
    }
    doc.update(fields)
    return sign(doc, key, version)


def confirmation(key: rsa.RSAPrivateKey, kind: str = "SubscriptionConfirmation", **fields: Any) -> dict:
    doc = {
        "Type": kind,
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e2425c464de12884ee",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.",
        "SubscribeURL": SUBSCRIBE_URL,
        "Timestamp": (NOW - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "SigningCertURL": CERT_URL,
    }
    doc.update(fields)
    return sign(doc, key)


def refused(verifier: SnsVerifier, message: dict[str, Any]) -> str:
    with pytest.raises(ForgedMessage) as caught:
        verifier.verify(message)
    return str(caught.value)


# --- signatures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("subject", [None, "APPROVAL NEEDED: ami-bakery-web"], ids=["no-subject", "subject"])
def test_a_genuine_notification_verifies(verifier, sns_key, version, subject):
    extra = {"Subject": subject} if subject else {}

    verifier.verify(notification(sns_key, version=version, **extra))


def test_a_changed_message_is_refused(verifier, sns_key):
    message = notification(sns_key)
    message["Message"] = message["Message"].replace("SUCCEEDED", "FAILED")

    assert "signature does not match" in refused(verifier, message)


def test_a_subject_added_after_signing_is_refused(verifier, sns_key):
    message = {**notification(sns_key), "Subject": "Urgent: approve now"}

    assert "signature does not match" in refused(verifier, message)


def test_a_version_1_signature_presented_as_version_2_is_refused(verifier, sns_key):
    message = {**notification(sns_key, version="1"), "SignatureVersion": "2"}

    assert "signature does not match" in refused(verifier, message)


def test_a_message_signed_by_another_key_is_refused(verifier, other_key):
    assert "signature does not match" in refused(verifier, notification(other_key))


def test_an_unknown_signature_version_is_refused(verifier, sns_key):
    assert "SignatureVersion" in refused(verifier, {**notification(sns_key), "SignatureVersion": "3"})


def test_a_signature_that_is_not_base64_is_refused(verifier, sns_key):
    assert "base64" in refused(verifier, {**notification(sns_key), "Signature": "not base64!"})


def test_a_message_missing_a_signed_field_is_refused(verifier, sns_key):
    message = notification(sns_key)
    del message["MessageId"]

    assert "MessageId" in refused(verifier, message)


# --- the certificate URL, checked before anything is fetched ----------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.evil.com/SimpleNotificationService-abc.pem",
        "https://sns.eu-west-1.amazonaws.com.evil.com/SimpleNotificationService-abc.pem",
        "https://sns.eu-west-1.amazonaws.com@evil.com/SimpleNotificationService-abc.pem",
        "https://evil.com/sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.eu-west-1.amazonaws.com:8443/SimpleNotificationService-abc.pem",
        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem.txt",
        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.txt",
        "https://sns.eu-west-1.amazonaws.com/cert?x=.pem",
        "https://sns.eu-west-1.amazonaws.com\n/SimpleNotificationService-abc.pem",
    ],
)
def test_a_certificate_url_off_sns_or_not_a_pem_is_refused_without_fetching(verifier, certs, sns_key, url):
    message = notification(sns_key, SigningCertURL=url)

    assert "SigningCertURL" in refused(verifier, message)
    assert certs.fetched == []


def test_a_china_region_certificate_url_is_accepted(sns_key):
    url = "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem"
    verifier = SnsVerifier([TOPIC], fetch=CertHost({url: make_cert(sns_key)}), clock=lambda: NOW)

    verifier.verify(notification(sns_key, SigningCertURL=url))


def test_an_unknown_topic_is_refused_without_fetching(verifier, certs, sns_key):
    message = notification(sns_key, TopicArn="arn:aws:sns:eu-west-1:999999999999:someone-elses")

    assert "not one the bakery accepts" in refused(verifier, message)
    assert certs.fetched == []


# --- freshness -------------------------------------------------------------------------------------


def test_a_message_older_than_an_hour_is_refused_as_stale(verifier, sns_key):
    message = notification(sns_key, Timestamp="2026-11-26T08:14:00.000Z")

    assert "stale" in refused(verifier, message)


def test_the_staleness_window_is_a_parameter(certs, sns_key):
    verifier = SnsVerifier([TOPIC], fetch=certs, clock=lambda: NOW, max_age=timedelta(hours=2))

    verifier.verify(notification(sns_key, Timestamp="2026-11-26T08:14:00.000Z"))


def test_a_message_from_the_future_is_refused(verifier, sns_key):
    assert "future" in refused(verifier, notification(sns_key, Timestamp="2026-11-26T10:15:00.000Z"))


def test_an_expired_certificate_is_refused(sns_key):
    fetch = CertHost({CERT_URL: make_cert(sns_key, not_after=NOW - timedelta(days=1))})
    verifier = SnsVerifier([TOPIC], fetch=fetch, clock=lambda: NOW)

    assert "not valid at this time" in refused(verifier, notification(sns_key))


# --- fetching and caching certificates -------------------------------------------------------------


def test_the_certificate_is_fetched_once_for_two_messages(verifier, certs, sns_key):
    verifier.verify(notification(sns_key))
    verifier.verify(notification(sns_key, MessageId="0f6a5c3e-2b1d-4e8f-9a7b-6c5d4e3f2a1b"))

    assert certs.fetched == [CERT_URL]


def test_the_certificate_cache_is_bounded(sns_key):
    other_url = CERT_URL.replace("abc", "def")
    cert = make_cert(sns_key)
    certs = CertHost({CERT_URL: cert, other_url: cert})
    verifier = SnsVerifier([TOPIC], fetch=certs, clock=lambda: NOW, cache_size=1)

    for url in (CERT_URL, other_url, CERT_URL):
        verifier.verify(notification(sns_key, SigningCertURL=url))

    assert certs.fetched == [CERT_URL, other_url, CERT_URL]


def test_a_certificate_that_cannot_be_fetched_is_unavailable_not_cached(verifier, certs, sns_key):
    url = CERT_URL.replace("abc", "gone")

    with pytest.raises(CertificateUnavailable):
        verifier.verify(notification(sns_key, SigningCertURL=url))
    with pytest.raises(CertificateUnavailable):
        verifier.verify(notification(sns_key, SigningCertURL=url))
    assert certs.fetched == [url, url]


def test_a_document_that_is_not_a_certificate_is_refused(sns_key):
    verifier = SnsVerifier([TOPIC], fetch=CertHost({CERT_URL: b"<html>hi</html>"}), clock=lambda: NOW)

    assert "PEM" in refused(verifier, notification(sns_key))


# --- subscription messages -------------------------------------------------------------------------


def test_a_genuine_subscription_confirmation_verifies(verifier, sns_key):
    verifier.verify(confirmation(sns_key))


def test_a_subscription_confirmation_with_a_swapped_subscribe_url_is_refused(verifier, sns_key):
    message = {**confirmation(sns_key), "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Other"}

    assert "signature does not match" in refused(verifier, message)


# --- against moto's SNS ----------------------------------------------------------------------------


def test_an_envelope_from_snss_sqs_delivery_verifies_and_parses(aws_session, moto):
    sns, sqs = aws_session.client("sns"), aws_session.client("sqs")
    topic = sns.create_topic(Name="ami-bakery-events")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="ami-bakery-events")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    queue_arn = attributes["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sns.publish(TopicArn=topic, Message=EVENT.read_text())
    [received] = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]

    def fetch_from_moto(url: str) -> bytes:
        # moto serves the certificate it signed with under the same path; its server picks the service from
        # the credential scope of the Authorization header, not from the Host.
        scope = "Credential=testing/20261126/eu-west-1/sns/aws4_request, SignedHeaders=host, Signature=0"
        request = urllib.request.Request(  # noqa: S310 - loopback moto server
            f"{moto}{urllib.parse.urlsplit(url).path}", headers={"Authorization": f"AWS4-HMAC-SHA256 {scope}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback moto server
            return response.read()

    SnsVerifier([topic], fetch=fetch_from_moto).verify(json.loads(received["Body"]))
    parsed = parse_body(received["Body"])

    assert parsed.envelope is not None and parsed.envelope.topic_arn == topic
    [event] = parsed.items
    assert isinstance(event, PipelineEvent) and (event.stage, event.state) == ("Bake", "SUCCEEDED")


# --- the default fetcher ---------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path == "/redirect.pem":
            self.send_response(302)
            self.send_header("Location", "/cert.pem")
            self.end_headers()
            return
        size = 200_000 if self.path == "/huge.pem" else 100
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.wfile.write(b"x" * size)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def local_http() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_default_fetcher_reads_a_small_document(local_http):
    assert read_url(f"{local_http}/cert.pem", timeout=5, limit=1024) == b"x" * 100


def test_the_default_fetcher_refuses_an_oversized_answer(local_http):
    with pytest.raises(OSError, match="more than 1024 bytes"):
        read_url(f"{local_http}/huge.pem", timeout=5, limit=1024)


def test_the_default_fetcher_does_not_follow_redirects(local_http):
    with pytest.raises(OSError, match="refused redirect"):
        read_url(f"{local_http}/redirect.pem", timeout=5, limit=1024)


# --- POST /sns -------------------------------------------------------------------------------------


class Recorder:
    """A deliver or confirm callable that records its calls and may fail."""

    def __init__(self, error: Exception | None = None):
        self.calls: list[tuple[str, ...]] = []
        self.error = error

    def __call__(self, *args: str) -> None:
        self.calls.append(args)
        if self.error is not None:
            raise self.error


@pytest.fixture
def deliver() -> Recorder:
    return Recorder()


@pytest.fixture
def confirm() -> Recorder:
    return Recorder()


@pytest.fixture
def endpoint(verifier, deliver, confirm) -> SnsEndpoint:
    return SnsEndpoint(verifier, deliver, confirm=confirm)


def post(endpoint: SnsEndpoint, message: dict[str, Any], **headers: str) -> tuple[int, dict[str, Any]]:
    return endpoint.handle(headers, json.dumps(message).encode())


def test_a_genuine_notification_is_delivered_with_its_message_id(endpoint, deliver, sns_key):
    message = notification(sns_key)
    body = json.dumps(message).encode()

    status, answer = endpoint.handle({"Content-Type": "text/plain; charset=UTF-8"}, body)

    assert (status, answer["status"]) == (200, "delivered")
    assert deliver.calls == [(body.decode(), message["MessageId"])]


def test_a_forged_notification_gets_403_and_is_not_delivered(endpoint, deliver, other_key):
    status, answer = post(endpoint, notification(other_key))

    assert status == 403
    assert "signature" in answer["error"]
    assert deliver.calls == []


def test_a_body_that_is_not_json_gets_400(endpoint, deliver):
    status, answer = endpoint.handle({}, b"Type=Notification&Message=hi")

    assert (status, answer) == (400, {"error": "The body is not JSON."})
    assert deliver.calls == []


def test_a_body_over_the_limit_gets_413(endpoint, deliver):
    assert endpoint.handle({}, b" " * (512 * 1024 + 1))[0] == 413


def test_a_message_type_header_that_contradicts_the_body_gets_403(endpoint, deliver, sns_key):
    headers = {"x-amz-sns-message-type": "SubscriptionConfirmation"}

    status, _ = post(endpoint, notification(sns_key), **headers)

    assert status == 403
    assert deliver.calls == []


def test_the_message_type_header_is_found_whatever_its_case(endpoint, deliver, sns_key):
    status, _ = post(endpoint, notification(sns_key), **{"X-Amz-Sns-Message-Type": "UnsubscribeConfirmation"})

    assert status == 403
    assert deliver.calls == []


def test_a_message_type_header_that_agrees_with_the_body_is_accepted(endpoint, deliver, sns_key):
    status, _ = post(endpoint, notification(sns_key), **{"x-amz-sns-message-type": "Notification"})

    assert status == 200
    assert len(deliver.calls) == 1


def test_a_genuine_notification_the_bakery_cannot_read_gets_400(verifier, sns_key):
    unreadable = BadMessage("The message is none of the shapes the bakery reads.")
    endpoint = SnsEndpoint(verifier, Recorder(unreadable))

    status, answer = post(endpoint, notification(sns_key, Message="{}"))

    assert (status, answer["error"]) == (400, str(unreadable))


def test_a_failure_while_applying_gets_500_and_is_logged_with_its_traceback(verifier, sns_key, caplog):
    endpoint = SnsEndpoint(verifier, Recorder(RuntimeError("state store down")))

    with caplog.at_level(logging.ERROR):
        status, _ = post(endpoint, notification(sns_key))

    assert status == 500
    [record] = [r for r in caplog.records if r.getMessage().startswith("sns.deliver_failed")]
    assert record.exc_info is not None and "state store down" in str(record.exc_info[1])


def test_a_certificate_that_cannot_be_fetched_gets_503_so_sns_retries(endpoint, deliver, sns_key):
    status, _ = post(endpoint, notification(sns_key, SigningCertURL=CERT_URL.replace("abc", "gone")))

    assert status == 503
    assert deliver.calls == []


def test_a_subscription_confirmation_is_confirmed_by_its_subscribe_url(endpoint, confirm, deliver, sns_key):
    headers = {"x-amz-sns-message-type": "SubscriptionConfirmation"}

    status, answer = post(endpoint, confirmation(sns_key), **headers)

    assert (status, answer) == (200, {"status": "confirmed"})
    assert confirm.calls == [(SUBSCRIBE_URL,)]
    assert deliver.calls == []


def test_a_forged_subscription_confirmation_is_not_confirmed(endpoint, confirm, other_key):
    status, _ = post(endpoint, confirmation(other_key))

    assert status == 403
    assert confirm.calls == []


def test_a_subscription_confirmation_for_an_unknown_topic_is_not_confirmed(endpoint, confirm, sns_key):
    status, _ = post(endpoint, confirmation(sns_key, TopicArn="arn:aws:sns:eu-west-1:999999999999:other"))

    assert status == 403
    assert confirm.calls == []


def test_a_signed_subscription_confirmation_pointing_off_sns_is_not_confirmed(endpoint, confirm, sns_key):
    status, answer = post(endpoint, confirmation(sns_key, SubscribeURL="https://evil.example.com/?Action=x"))

    assert status == 403
    assert "SubscribeURL" in answer["error"]
    assert confirm.calls == []


def test_a_confirmation_that_fails_gets_502_so_sns_sends_it_again(verifier, sns_key):
    endpoint = SnsEndpoint(verifier, Recorder(), confirm=Recorder(OSError("timed out")))

    assert post(endpoint, confirmation(sns_key))[0] == 502


def test_an_unsubscribe_confirmation_is_acknowledged_and_nothing_else(endpoint, confirm, deliver, sns_key):
    status, answer = post(endpoint, confirmation(sns_key, "UnsubscribeConfirmation"))

    assert (status, answer) == (200, {"status": "unsubscribed"})
    assert (confirm.calls, deliver.calls) == ([], [])
