"""SsmParameters: reading the upstream parameter of an image's region, against moto and, for errors, Stubber."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from bot.adapters.aws.ssm_parameters import SsmParameters
from bot.domain.errors import ParameterError
from tests.fixtures.aws import REGION

NAME = "/sandbox/upstream/al2023-ami-kernel-default-x86_64"


@pytest.fixture
def ssm(aws_session: boto3.Session):
    return aws_session.client("ssm")


def test_a_parameters_value_is_read(ssm):
    ssm.put_parameter(Name=NAME, Value="ami-0123456789abcdef0", Type="String")

    assert SsmParameters(ssm).get(NAME) == "ami-0123456789abcdef0"


def test_a_parameter_that_moved_reads_its_newest_value(ssm):
    ssm.put_parameter(Name=NAME, Value="ami-0123456789abcdef0", Type="String")
    ssm.put_parameter(Name=NAME, Value="ami-0fedcba9876543210", Type="String", Overwrite=True)

    assert SsmParameters(ssm).get(NAME) == "ami-0fedcba9876543210"


def test_a_missing_parameter_is_none(ssm):
    assert SsmParameters(ssm).get(NAME) is None


def test_the_parameter_is_read_in_the_clients_region(aws_session: boto3.Session):
    aws_session.client("ssm", region_name="us-east-1").put_parameter(
        Name=NAME, Value="ami-0aaaaaaaaaaaaaaaa", Type="String"
    )

    assert SsmParameters(aws_session.client("ssm", region_name="us-east-1")).get(NAME) == "ami-0aaaaaaaaaaaaaaaa"
    assert SsmParameters(aws_session.client("ssm", region_name=REGION)).get(NAME) is None


def test_access_denied_is_a_parameter_error_naming_the_parameter_and_region():
    client = boto3.client("ssm", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_client_error(
            "get_parameter",
            service_error_code="AccessDeniedException",
            service_message="not authorized to perform ssm:GetParameter",
            expected_params={"Name": NAME},
        )
        with pytest.raises(ParameterError) as err:
            SsmParameters(client).get(NAME)
    assert "ssm:GetParameter" in str(err.value)
    assert NAME in str(err.value) and REGION in str(err.value)
    assert "(AccessDeniedException)" in str(err.value)


def test_put_overwrites_a_parameter(ssm):
    ssm.put_parameter(Name="/bakery/images/web/latest", Value="ami-0bbbbbbbbbbbbbbbb", Type="String")

    SsmParameters(ssm).put("/bakery/images/web/latest", "ami-0aaaaaaaaaaaaaaaa")

    assert SsmParameters(ssm).get("/bakery/images/web/latest") == "ami-0aaaaaaaaaaaaaaaa"


def test_under_reads_every_parameter_below_a_path_across_pages(ssm):
    for n in range(12):  # GetParametersByPath answers 10 at most per page
        ssm.put_parameter(Name=f"/bakery/images/i{n}/latest", Value=f"ami-0{n:016x}", Type="String")
    ssm.put_parameter(Name="/elsewhere/latest", Value="ami-0ffffffffffffffff", Type="String")

    found = SsmParameters(ssm).under("/bakery/images")

    assert found == {f"/bakery/images/i{n}/latest": f"ami-0{n:016x}" for n in range(12)}
