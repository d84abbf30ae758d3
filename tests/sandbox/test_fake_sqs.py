"""FakeSqs: a plain boto3 SQS client sends, receives, retries and dead-letters messages as it would on SQS."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from bot.adapters.aws.sqs import SqsConsumer
from bot.sandbox.aws.fake_sqs import FakeSqs
from tests.fixtures.waiting import wait_for


@pytest.fixture
def fake() -> Iterator[FakeSqs]:
    with FakeSqs() as server:
        yield server


@pytest.fixture
def sqs(fake: FakeSqs):
    # Explicit endpoint: the suite's AWS_ENDPOINT_URL points at moto.
    return boto3.client("sqs", region_name="eu-west-1", endpoint_url=fake.endpoint)


@pytest.fixture
def queue(sqs) -> str:
    return sqs.create_queue(QueueName="intake")["QueueUrl"]


def with_dead_letter_queue(sqs, max_receive_count: int, **attributes: str) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName="intake-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)})
    url = sqs.create_queue(QueueName="intake", Attributes={"RedrivePolicy": policy, **attributes})["QueueUrl"]
    return url, dlq


def counts(sqs, url: str) -> tuple[int, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return int(attributes[names[0]]), int(attributes[names[1]])


def receive_count(message: dict) -> int:
    return int(message["Attributes"]["ApproximateReceiveCount"])


def test_queue_url_and_arn_name_the_account_region_and_queue(fake, sqs, queue):
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert queue == f"{fake.endpoint}/123456789012/intake"
    assert arn == "arn:aws:sqs:eu-west-1:123456789012:intake"
    assert sqs.get_queue_url(QueueName="intake")["QueueUrl"] == queue


def test_a_sent_message_is_received_with_the_md5_of_its_body_and_then_deleted(sqs, queue):
    body = '{"detail": "bake ✓ succeeded"}'
    sent = sqs.send_message(QueueUrl=queue, MessageBody=body)
    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    # botocore 1.44 no longer checks SQS MD5s itself, so the test does.
    assert (
        message["MD5OfBody"]
        == sent["MD5OfMessageBody"]
        == hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()
    )
    assert (message["Body"], message["MessageId"]) == (body, sent["MessageId"])
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert counts(sqs, queue) == (0, 0)


def test_a_batch_of_ten_is_sent_received_and_deleted_in_one_call_each(sqs, queue):
    entries = [{"Id": f"e{i}", "MessageBody": f"event {i}"} for i in range(10)]
    assert len(sqs.send_message_batch(QueueUrl=queue, Entries=entries)["Successful"]) == 10
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    deleted = sqs.delete_message_batch(
        QueueUrl=queue, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
    )
    assert sorted(m["Body"] for m in messages) == sorted(e["MessageBody"] for e in entries)
    assert (len(deleted["Successful"]), deleted["Failed"]) == (10, [])
    assert counts(sqs, queue) == (0, 0)


def test_a_long_poll_returns_as_soon_as_another_thread_sends(sqs, queue):
    threading.Timer(0.3, lambda: sqs.send_message(QueueUrl=queue, MessageBody="late")).start()
    started = time.monotonic()
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10)["Messages"]
    waited = time.monotonic() - started
    assert [m["Body"] for m in messages] == ["late"]
    assert 0.2 < waited < 5  # it waited for the send, and did not sit out the 10 s


def test_an_unacknowledged_message_comes_back_after_its_visibility_timeout(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="retry me")
    first = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=1, MessageSystemAttributeNames=["All"])["Messages"]
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)  # in flight: hidden
    again = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5, MessageSystemAttributeNames=["All"])["Messages"]
    assert again[0]["MessageId"] == first[0]["MessageId"]
    assert (receive_count(first[0]), receive_count(again[0])) == (1, 2)
    assert again[0]["ReceiptHandle"] != first[0]["ReceiptHandle"]


def test_changing_visibility_to_zero_releases_a_message_at_once(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="release me")
    [message] = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=600)["Messages"]
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["MessageId"] == message["MessageId"]


def test_a_message_received_more_than_max_receive_count_times_moves_to_the_dead_letter_queue(sqs):
    url, dlq = with_dead_letter_queue(sqs, max_receive_count=2, VisibilityTimeout="0")
    sent = sqs.send_message(QueueUrl=url, MessageBody="poison")
    for expected_count in (1, 2):
        [message] = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["ApproximateReceiveCount"])[
            "Messages"
        ]
        assert receive_count(message) == expected_count
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # the third receive moved it instead
    [dead] = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert (dead["MessageId"], dead["Body"]) == (sent["MessageId"], "poison")
    assert counts(sqs, url) == (0, 0)


def test_an_unknown_queue_is_a_queue_does_not_exist_error(fake, sqs):
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as by_name:
        sqs.get_queue_url(QueueName="missing")
    with pytest.raises(ClientError) as by_url:
        sqs.receive_message(QueueUrl=f"{fake.endpoint}/123456789012/missing")
    for error in (by_name.value.response["Error"], by_url.value.response["Error"]):
        assert (error["Code"], error["QueryErrorCode"]) == (
            "AWS.SimpleQueueService.NonExistentQueue",
            "QueueDoesNotExist",
        )


def test_a_bad_receipt_handle_fails_only_its_own_batch_entry(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="ok")
    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    result = sqs.delete_message_batch(
        QueueUrl=queue,
        Entries=[{"Id": "good", "ReceiptHandle": message["ReceiptHandle"]}, {"Id": "bad", "ReceiptHandle": "nonsense"}],
    )
    assert [e["Id"] for e in result["Successful"]] == ["good"]
    assert [(e["Id"], e["Code"], e["SenderFault"]) for e in result["Failed"]] == [
        ("bad", "ReceiptHandleIsInvalid", True)
    ]
    assert counts(sqs, queue) == (0, 0)


def test_attributes_count_visible_and_in_flight_messages(sqs, queue):
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(3)])
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=2)["Messages"]
    assert counts(sqs, queue) == (1, 2)
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=messages[0]["ReceiptHandle"])
    assert counts(sqs, queue) == (1, 1)


def test_purge_empties_a_queue_and_delete_removes_it_from_the_list(sqs, queue):
    other = sqs.create_queue(QueueName="other")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="gone")
    sqs.purge_queue(QueueUrl=queue)
    assert counts(sqs, queue) == (0, 0)
    sqs.delete_queue(QueueUrl=other)
    assert sqs.list_queues()["QueueUrls"] == [queue]


def test_stop_ends_a_long_poll_in_progress(fake, sqs, queue):
    result: dict = {}
    poller = threading.Thread(target=lambda: result.update(sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20)))
    poller.start()
    wait_for(lambda: fake.long_polls == 1, timeout=5, what="the long poll to be waiting")
    fake.stop()
    poller.join(timeout=5)
    assert not poller.is_alive() and "Messages" not in result
    assert "ResponseMetadata" in result  # answered, not cut off


def test_two_thousand_messages_drain_completely(sqs, queue):
    # Not timed on purpose: a throughput figure belongs in benchmarks/bench_sqs_backends.py.
    for start in range(0, 2000, 10):
        sqs.send_message_batch(
            QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(10)]
        )
    seen: set[str] = set()
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        seen.update(m["Body"] for m in messages)
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        assert sqs.delete_message_batch(QueueUrl=queue, Entries=entries)["Failed"] == []
    assert seen == {f"m{n}" for n in range(2000)}
    assert counts(sqs, queue) == (0, 0)


def test_the_intake_consumer_deletes_handled_messages_and_leaves_failures_to_the_dead_letter_queue(sqs):
    url, dlq = with_dead_letter_queue(sqs, max_receive_count=2, VisibilityTimeout="0")
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "good"}, {"Id": "b", "MessageBody": "bad"}]
    )
    handled: list[str] = []

    def handle(body: str, message_id: str) -> None:
        if body == "bad":
            raise ValueError("cannot parse")
        handled.append(body)

    consumer = SqsConsumer(sqs, url, handle, wait_seconds=0)
    results = [consumer.poll_once() for _ in range(3)]
    assert [(r.received, r.handled, r.failed, r.not_deleted) for r in results] == [
        (2, 1, 1, 0),
        (1, 0, 1, 0),
        (0, 0, 0, 0),
    ]
    assert handled == ["good"]
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=dlq)["Messages"]] == ["bad"]
