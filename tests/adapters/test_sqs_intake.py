"""The queue consumer deletes what it handled and leaves failures to the redrive policy."""

from __future__ import annotations

import json
import logging
import threading
import time

import boto3
import pytest
from botocore.stub import Stubber

from bot.adapters.aws.sqs import PollResult, SqsConsumer

QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/ami-bakery-events"


@pytest.fixture
def queues(aws_session):
    """A queue whose messages go to a dead-letter queue after two receives, and come back at once."""
    sqs = aws_session.client("sqs")
    dlq_url = sqs.create_queue(QueueName="ami-bakery-events-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    queue_url = sqs.create_queue(
        QueueName="ami-bakery-events", Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "0"}
    )["QueueUrl"]
    return sqs, queue_url, dlq_url


class Handler:
    """Records what it was handed; fails for bodies listed in `fail`."""

    def __init__(self, fail: tuple[str, ...] = ()):
        self.fail = fail
        self.calls: list[tuple[str, str]] = []

    def __call__(self, body: str, message_id: str) -> None:
        self.calls.append((body, message_id))
        if body in self.fail:
            raise ValueError(f"cannot apply this message ({len(body)} bytes)")


def bodies(sqs, url: str) -> list[str]:
    return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]


# --- against moto's SQS ----------------------------------------------------------------------------


def test_a_handled_message_is_handed_over_and_deleted(queues):
    sqs, queue_url, _ = queues
    message_id = sqs.send_message(QueueUrl=queue_url, MessageBody='{"ok": 1}')["MessageId"]
    handler = Handler()

    result = SqsConsumer(sqs, queue_url, handler, wait_seconds=0).poll_once()

    assert result == PollResult(received=1, handled=1, failed=0)
    assert handler.calls == [('{"ok": 1}', message_id)]
    assert bodies(sqs, queue_url) == []


def test_a_message_that_keeps_failing_ends_in_the_dead_letter_queue(queues):
    sqs, queue_url, dlq_url = queues
    sqs.send_message(QueueUrl=queue_url, MessageBody="poison")
    consumer = SqsConsumer(sqs, queue_url, Handler(fail=("poison",)), wait_seconds=0)

    results = [consumer.poll_once() for _ in range(3)]

    assert [(r.received, r.failed) for r in results] == [(1, 1), (1, 1), (0, 0)]
    assert bodies(sqs, dlq_url) == ["poison"]


def test_a_failed_message_stays_while_the_good_ones_of_its_batch_are_deleted(queues):
    sqs, queue_url, _ = queues
    for body in ("good-1", "poison", "good-2"):
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)

    result = SqsConsumer(sqs, queue_url, Handler(fail=("poison",)), wait_seconds=0).poll_once()

    assert result == PollResult(received=3, handled=2, failed=1)
    assert bodies(sqs, queue_url) == ["poison"]


def test_a_failure_is_logged_with_traceback_id_and_receive_count_but_not_the_body(queues, caplog):
    sqs, queue_url, _ = queues
    body = "secret-body-" + "x" * 500
    message_id = sqs.send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"]
    consumer = SqsConsumer(sqs, queue_url, Handler(fail=(body,)), wait_seconds=0)

    with caplog.at_level(logging.DEBUG, logger="bot.adapters.aws.sqs"):
        consumer.poll_once()
        consumer.poll_once()

    failures = [r for r in caplog.records if r.getMessage().startswith("sqs.message_failed")]
    assert len(failures) == 2
    assert f"message_id={message_id} receive_count=1" in failures[0].getMessage()
    assert f"message_id={message_id} receive_count=2" in failures[1].getMessage()
    assert all(r.exc_info and isinstance(r.exc_info[1], ValueError) for r in failures)
    assert "secret-body" not in caplog.text


def test_run_handles_messages_until_stopped(queues):
    sqs, queue_url, _ = queues
    handled = threading.Event()
    consumer = SqsConsumer(sqs, queue_url, lambda body, message_id: handled.set(), wait_seconds=1)
    stop = threading.Event()
    worker = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    worker.start()

    sqs.send_message(QueueUrl=queue_url, MessageBody="hello")
    assert handled.wait(5)
    stop.set()
    worker.join(5)

    assert not worker.is_alive()
    assert bodies(sqs, queue_url) == []


# --- what is asked of SQS, and what it answers (recorded responses) ---------------------------------


@pytest.fixture
def stubbed():
    client = boto3.client("sqs", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def receive_params(wait: int = 20, count: int = 10) -> dict:
    return {
        "QueueUrl": QUEUE_URL,
        "MaxNumberOfMessages": count,
        "WaitTimeSeconds": wait,
        "MessageSystemAttributeNames": ["ApproximateReceiveCount", "SentTimestamp"],
    }


def one_message(message_id: str = "4b1c2d3e-0000-4000-8000-000000000001") -> dict:
    return {
        "Messages": [
            {
                "MessageId": message_id,
                "ReceiptHandle": "AQEB" + "r" * 300,
                "Body": "{}",
                "Attributes": {"ApproximateReceiveCount": "1"},
            }
        ]
    }


def test_it_long_polls_for_a_batch_with_the_receive_count(stubbed):
    client, stubber = stubbed
    stubber.add_response("receive_message", {}, receive_params(wait=7, count=4))

    result = SqsConsumer(client, QUEUE_URL, Handler(), wait_seconds=7, max_messages=4).poll_once()

    assert result == PollResult(received=0, handled=0, failed=0)


def test_each_message_tells_its_intake_lag_from_its_sent_timestamp(stubbed):
    client, stubber = stubbed
    batch = one_message()
    batch["Messages"][0]["Attributes"]["SentTimestamp"] = "1764583200000"  # 2025-12-01T10:00:00Z, in ms
    batch["Messages"].append({**batch["Messages"][0], "MessageId": "m-2", "Attributes": {}})  # none: no lag told
    stubber.add_response("receive_message", batch, receive_params())
    stubber.add_response("delete_message_batch", {"Successful": [{"Id": "0"}, {"Id": "1"}], "Failed": []}, None)
    lags: list[float] = []

    SqsConsumer(client, QUEUE_URL, Handler(), on_lag=lags.append, clock=lambda: 1764583212.5).poll_once()

    assert lags == [12.5]


def test_a_delete_that_sqs_reports_failed_is_logged_with_the_message_id(stubbed, caplog):
    client, stubber = stubbed
    stubber.add_response("receive_message", one_message(), receive_params())
    stubber.add_response(
        "delete_message_batch",
        {"Successful": [], "Failed": [{"Id": "0", "SenderFault": True, "Code": "ReceiptHandleIsInvalid"}]},
        {"QueueUrl": QUEUE_URL, "Entries": [{"Id": "0", "ReceiptHandle": "AQEB" + "r" * 300}]},
    )

    with caplog.at_level(logging.ERROR):
        result = SqsConsumer(client, QUEUE_URL, Handler()).poll_once()

    assert result == PollResult(received=1, handled=1, failed=0, not_deleted=1)
    [record] = [r for r in caplog.records if r.getMessage().startswith("sqs.delete_failed")]
    assert "message_id=4b1c2d3e-0000-4000-8000-000000000001" in record.getMessage()
    assert "ReceiptHandleIsInvalid" in record.getMessage()
    assert "rrrr" not in caplog.text  # the receipt handle is not logged


def test_a_delete_call_that_fails_is_logged_and_counted(stubbed, caplog):
    client, stubber = stubbed
    stubber.add_response("receive_message", one_message(), receive_params())
    stubber.add_client_error("delete_message_batch", "AWS.SimpleQueueService.NonExistentQueue", http_status_code=400)

    with caplog.at_level(logging.ERROR):
        result = SqsConsumer(client, QUEUE_URL, Handler()).poll_once()

    assert result.not_deleted == 1
    assert any(r.getMessage().startswith("sqs.delete_failed") and r.exc_info for r in caplog.records)


class RecordingStop(threading.Event):
    """A stop event whose waits return at once, recording how long the consumer asked to wait."""

    def __init__(self, stop_after: int):
        super().__init__()
        self.waits: list[float] = []
        self.stop_after = stop_after

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        if len(self.waits) >= self.stop_after:
            self.set()
        return self.is_set()


def test_run_backs_off_on_aws_errors_doubling_up_to_a_cap(stubbed):
    client, stubber = stubbed
    for _ in range(5):
        stubber.add_client_error("receive_message", "ServiceUnavailable", http_status_code=503)
    stop = RecordingStop(stop_after=5)

    SqsConsumer(client, QUEUE_URL, Handler(), backoff=1.0, max_backoff=4.0).run(stop)

    assert stop.waits == [1.0, 2.0, 4.0, 4.0, 4.0]


def test_run_resets_its_backoff_after_a_successful_receive(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("receive_message", "ServiceUnavailable", http_status_code=503)
    stubber.add_client_error("receive_message", "ServiceUnavailable", http_status_code=503)
    stubber.add_response("receive_message", {}, receive_params())
    stubber.add_client_error("receive_message", "ServiceUnavailable", http_status_code=503)
    stop = RecordingStop(stop_after=3)

    SqsConsumer(client, QUEUE_URL, Handler(), backoff=1.0).run(stop)

    assert stop.waits == [1.0, 2.0, 1.0]


def test_run_pauses_between_empty_short_polls(stubbed):
    client, stubber = stubbed
    stubber.add_response("receive_message", {}, receive_params(wait=0))
    stop = RecordingStop(stop_after=1)

    # A backoff unlike the idle pause, so that a wait caused by an error cannot pass for it.
    SqsConsumer(client, QUEUE_URL, Handler(), wait_seconds=0, backoff=7.0).run(stop)

    assert stop.waits == [1.0]


def test_run_returns_promptly_when_stopped_during_a_backoff(stubbed):
    client, stubber = stubbed
    stubber.add_client_error("receive_message", "ServiceUnavailable", http_status_code=503)
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()

    SqsConsumer(client, QUEUE_URL, Handler(), backoff=30.0).run(stop)

    assert time.monotonic() - started < 5


def test_a_wait_beyond_sqs_long_polling_limit_is_refused():
    with pytest.raises(ValueError, match="wait_seconds"):
        SqsConsumer(object(), QUEUE_URL, Handler(), wait_seconds=21)
