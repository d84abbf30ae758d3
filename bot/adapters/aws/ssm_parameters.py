"""SSM parameters of one region (the public upstream ones, `/aws/service/…`), with AWS errors as ParameterError."""

from __future__ import annotations

from typing import Any

from bot.adapters.aws.aws_call import aws_call
from bot.domain.errors import ParameterError


class NoSuchParameter(ParameterError):
    """AWS answered ParameterNotFound: the adapter turns this one into None."""


class SsmParameters:
    """`Parameters` through a boto3 `ssm` client, in the client's region."""

    def __init__(self, client: Any):
        self._client = client
        self.region: str = client.meta.region_name

    def get(self, name: str) -> str | None:
        """The parameter's value, or None when the region has no parameter of that name."""
        try:
            answer = aws_call(
                f"read the SSM parameter {name} in {self.region}",
                self._client.get_parameter,
                errors={"ParameterNotFound": NoSuchParameter},
                default=ParameterError,
                service="SSM",
                Name=name,
            )
        except NoSuchParameter:
            return None
        return str(answer["Parameter"]["Value"])

    def put(self, name: str, value: str) -> None:
        """Overwrite the AMI parameter `name` with the AMI id `value` (a revocation moving `latest` back, §14)."""
        aws_call(
            f"write the SSM parameter {name} in {self.region}",
            self._client.put_parameter,
            errors={},
            default=ParameterError,
            service="SSM",
            Name=name,
            Value=value,
            Type="String",
            # As Publish writes it (buildspec-publish.yml): AWS checks the value names an AMI, and
            # DescribeImageReferences counts only parameters of this data type as using one.
            DataType="aws:ec2:image",
            Overwrite=True,
        )

    def under(self, path: str) -> dict[str, str]:
        """Every parameter below `path`, recursively: name -> value (GetParametersByPath, every page)."""

        def read() -> dict[str, Any]:
            pages = self._client.get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=True)
            return {p["Name"]: p["Value"] for page in pages for p in page.get("Parameters", [])}

        return aws_call(
            f"read the SSM parameters under {path} in {self.region}",
            read,
            errors={},
            default=ParameterError,
            service="SSM",
        )
