"""The botocore hook behind bakery_aws_errors_total: AWS's code after the retries, or the exception's name."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from bot.wiring.adapters import count_aws_errors


def test_a_refused_call_is_told_with_its_service_operation_and_code():
    client = boto3.client("sqs", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    seen: list[tuple[str, str, str | None]] = []
    count_aws_errors(client.meta.events, lambda *error: seen.append(error))
    with Stubber(client) as stubber:
        stubber.add_client_error("get_queue_url", service_error_code="ThrottlingException", http_status_code=400)
        stubber.add_response("get_queue_url", {"QueueUrl": "https://sqs.eu-west-1.amazonaws.com/1/q"})
        with pytest.raises(ClientError):
            client.get_queue_url(QueueName="q")
        client.get_queue_url(QueueName="q")  # answered: not an error
    assert seen == [("sqs", "GetQueueUrl", "ThrottlingException")]


def test_a_call_that_got_no_answer_is_told_by_the_exceptions_name():
    client = boto3.client(
        "sqs",
        region_name="eu-west-1",
        endpoint_url="http://127.0.0.1:9",  # discard: nothing listens
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1),
    )
    seen: list[tuple[str, str, str | None]] = []
    count_aws_errors(client.meta.events, lambda *error: seen.append(error))
    with pytest.raises(EndpointConnectionError):
        client.get_queue_url(QueueName="q")
    assert seen == [("sqs", "GetQueueUrl", "EndpointConnectionError")]
