"""Every bot client retries in the SDK's standard mode with bounded attempts, unless the operator says otherwise;
through the fault proxy, a throttle or a 5xx is retried and a fault that outlasts the attempts reaches the caller."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from bot.wiring.adapters import TOTAL_MAX_ATTEMPTS, Clients, with_client_config
from tests.fixtures.aws import new_session
from tests.fixtures.aws_faults import AwsFaults


@pytest.fixture
def faults(moto: str) -> Iterator[tuple[AwsFaults, str]]:
    proxy = AwsFaults()
    try:
        yield proxy, proxy.front(moto)
    finally:
        proxy.stop()


def retries_of(client: object) -> dict[str, object]:
    return dict(client.meta.config.retries)  # type: ignore[attr-defined]


def test_clients_use_standard_mode_with_bounded_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    session = with_client_config(new_session())
    clients = Clients(session, "eu-west-1")
    for client in (clients("sqs", None), clients("codepipeline", None), session.client("dynamodb")):
        assert retries_of(client) == {"mode": "standard", "total_max_attempts": TOTAL_MAX_ATTEMPTS}
        assert client.meta.config.connect_timeout == 5.0
        assert client.meta.config.read_timeout == 30.0


def test_the_environment_still_decides_the_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client's Config outranks AWS_RETRY_MODE / AWS_MAX_ATTEMPTS in botocore; ours steps aside for them."""
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "7")
    session = with_client_config(new_session())
    for client in (Clients(session, "eu-west-1")("sqs", None), session.client("dynamodb")):
        assert retries_of(client) == {"mode": "adaptive", "total_max_attempts": 7}


@pytest.mark.parametrize(
    ("service", "operation", "fault"),
    [
        ("dynamodb", "ListTables", "throttle"),  # JSON 1.0
        ("sqs", "ListQueues", "503"),  # JSON 1.0 (SQS)
        ("autoscaling", "DescribeAutoScalingGroups", "throttle"),  # Query
        ("ec2", "DescribeImages", "500"),  # EC2's own Query error shape
    ],
)
def test_a_passing_fault_is_retried_away(
    faults: tuple[AwsFaults, str], monkeypatch: pytest.MonkeyPatch, service: str, operation: str, fault: str
) -> None:
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    proxy, endpoint = faults
    # botocore backs off a throttle ~1 s, 2 s…, a 5xx ~50 ms, 100 ms…: one throttle, two 5xx keep this quick.
    times = 1 if fault == "throttle" else 2
    proxy.add(service, operation, fault, times=times)
    client = with_client_config(new_session()).client(service, endpoint_url=endpoint)
    getattr(client, _snake(operation))()
    seen = proxy.calls(service, operation)
    assert [s.fault for s in seen] == [fault] * times + [""]
    assert seen[-1].status == 200


def test_a_fault_that_outlasts_the_attempts_reaches_the_caller(
    faults: tuple[AwsFaults, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    proxy, endpoint = faults
    proxy.add("dynamodb", "ListTables", "503", times=None)
    client = with_client_config(new_session()).client("dynamodb", endpoint_url=endpoint)
    with pytest.raises(ClientError) as raised:
        client.list_tables()
    assert raised.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert len(proxy.calls("dynamodb", "ListTables")) == TOTAL_MAX_ATTEMPTS


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
