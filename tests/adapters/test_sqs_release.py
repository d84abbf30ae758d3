"""A stopping consumer hands back the messages it received and did not handle: another replica takes them now."""

from __future__ import annotations

import threading

from bot.adapters.aws.sqs import PollResult, SqsConsumer


def test_messages_received_as_the_bot_stops_are_visible_again_at_once(aws_session):
    sqs = aws_session.client("sqs")
    # A long visibility timeout: without the hand-back, the rest of the batch would be hidden for five minutes.
    url = sqs.create_queue(QueueName="ami-bakery-release", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
    for body in ("one", "two", "three"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    stop = threading.Event()
    handled: list[str] = []

    def handle(body: str, message_id: str) -> None:
        handled.append(body)
        stop.set()  # SIGTERM arrives while the first message of the batch is being handled

    result = SqsConsumer(sqs, url, handle, wait_seconds=0).poll_once(stop)

    assert result == PollResult(received=3, handled=1, failed=0, released=2)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    assert sorted(m["Body"] for m in again) == sorted({"one", "two", "three"} - set(handled))


def test_a_batch_received_after_the_stop_is_handed_back_whole(aws_session):
    sqs = aws_session.client("sqs")
    url = sqs.create_queue(QueueName="ami-bakery-release-2", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="late")
    stop = threading.Event()
    stop.set()  # the long poll returned after the stop was asked
    handled: list[str] = []

    result = SqsConsumer(sqs, url, lambda body, _id: handled.append(body), wait_seconds=0).poll_once(stop)

    assert (result.received, result.handled, result.released, handled) == (1, 0, 1, [])
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", [])
    assert [m["Body"] for m in again] == ["late"]
