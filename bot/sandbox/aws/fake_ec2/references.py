"""DescribeImageReferences, computed from moto in the caller's account and region on every call."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bot.sandbox.aws.fake_ec2.protocol import Ec2Error, as_list, flag

if TYPE_CHECKING:
    from bot.sandbox.aws.fake_ec2.server import FakeEc2, Where

INSTANCE, TEMPLATE, PARAMETER = "ec2:Instance", "ec2:LaunchTemplate", "ssm:Parameter"
RESOURCE_TYPES = (INSTANCE, TEMPLATE, PARAMETER, "imagebuilder:ImageRecipe", "imagebuilder:ContainerRecipe")
OPTION_OF = {INSTANCE: "state-name", TEMPLATE: "version-depth"}  # the one option each type takes
STATES = ("pending", "running", "shutting-down", "terminated", "stopping", "stopped")  # the default: all of them
DEFAULT_DEPTH, MAX_DEPTH = 10, 10_000
MAX_IMAGES, MIN_RESULTS = 10, 5
_AMI_ID = re.compile(r"^ami-[0-9a-f]{8,17}$")
_VERSIONS_PER_CALL = 200  # DescribeLaunchTemplateVersions' MaxResults limit (moto does not page them)

Reference = tuple[str, str, str]  # (image id, resource type, arn)


def describe(fake: FakeEc2, params: dict[str, Any], where: Where) -> dict[str, Any]:
    ids = [str(i) for i in as_list(params.get("ImageId"))]
    if not ids:
        raise Ec2Error("MissingParameter", "The request must contain the parameter ImageId")
    if len(ids) > MAX_IMAGES:
        raise Ec2Error("InvalidParameterValue", f"You can specify at most {MAX_IMAGES} image IDs, not {len(ids)}.")
    malformed = [i for i in ids if not _AMI_ID.match(i)]
    if malformed:
        raise Ec2Error("InvalidAMIID.Malformed", f'Invalid id: "{malformed[0]}" (expecting "ami-...")')
    scopes = _scopes(params)
    limit = _max_results(params)
    wanted = set(ids)
    found: list[Reference] = []
    if INSTANCE in scopes:
        found += _instances(fake, where, wanted, _states(scopes[INSTANCE]))
    if TEMPLATE in scopes:
        found += _templates(fake, where, wanted, _depth(scopes[TEMPLATE]))
    if PARAMETER in scopes:
        found += _parameters(fake, where, wanted)
    # Image Builder recipes: moto has none to reference an AMI.
    found = sorted(set(found), key=lambda r: (ids.index(r[0]), RESOURCE_TYPES.index(r[1]), r[2]))
    start = _offset(params.get("NextToken"))
    end = start + limit if limit else len(found)
    page = found[start:end]
    return {
        "imageReferenceSet": [{"imageId": i, "resourceType": t, "arn": a} for i, t, a in page],
        "nextToken": _token(end) if end < len(found) else None,
    }


def _scopes(params: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """The resource types to scan, each with its options (IncludeAllResourceTypes: all, with the defaults, which
    ResourceType.N's options override)."""
    requested = as_list(params.get("ResourceType"))
    if not flag(params, "IncludeAllResourceTypes") and not requested:
        raise Ec2Error("MissingParameter", "Either IncludeAllResourceTypes or ResourceTypes must be specified.")
    scopes: dict[str, dict[str, list[str]]] = (
        {t: {} for t in RESOURCE_TYPES} if flag(params, "IncludeAllResourceTypes") else {}
    )
    for entry in requested:
        kind = entry.get("ResourceType") if isinstance(entry, dict) else None
        if kind not in RESOURCE_TYPES:
            raise Ec2Error(
                "InvalidParameterValue",
                f"Value ({kind}) for parameter ResourceType is invalid. Valid values: {', '.join(RESOURCE_TYPES)}",
            )
        options = scopes.setdefault(str(kind), {})
        for option in as_list(entry.get("ResourceTypeOption")):
            name = option.get("OptionName") if isinstance(option, dict) else None
            if name != OPTION_OF.get(str(kind)):
                raise Ec2Error("InvalidParameterValue", f"The option {name} is not valid for resource type {kind}.")
            options[str(name)] = [str(v) for v in as_list(option.get("OptionValue"))]
    return scopes


def _states(options: dict[str, list[str]]) -> list[str]:
    states = options.get("state-name") or list(STATES)
    unknown = [s for s in states if s not in STATES]
    if unknown:
        valid = ", ".join(STATES)
        raise Ec2Error("InvalidParameterValue", f"Value ({unknown[0]}) for state-name is invalid. Valid: {valid}")
    return states


def _depth(options: dict[str, list[str]]) -> int:
    values = options.get("version-depth") or [str(DEFAULT_DEPTH)]
    try:
        depth = int(values[0])
    except ValueError:
        depth = 0
    if len(values) != 1 or not 1 <= depth <= MAX_DEPTH:
        raise Ec2Error("InvalidParameterValue", f"version-depth must be one integer, 1 to {MAX_DEPTH}: {values}")
    return depth


def _max_results(params: dict[str, Any]) -> int | None:
    if params.get("MaxResults") in (None, ""):
        return None  # every reference in one answer
    try:
        limit = int(params["MaxResults"])
    except (TypeError, ValueError):
        limit = 0
    if limit < MIN_RESULTS:
        raise Ec2Error("InvalidParameterValue", f"MaxResults must be at least {MIN_RESULTS}: {params['MaxResults']}")
    return limit


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"references:{offset}".encode()).decode()


def _offset(token: Any) -> int:
    if not token:
        return 0
    try:
        kind, _, offset = base64.urlsafe_b64decode(str(token)).decode().partition(":")
        if kind == "references" and offset.isdigit():
            return int(offset)
    except ValueError:
        pass
    raise Ec2Error("InvalidPaginationToken", f"The pagination token {token} is invalid.")


# --- what references the images, from moto ----------------------------------------------------------


def _instances(fake: FakeEc2, where: Where, wanted: set[str], states: list[str]) -> Iterator[Reference]:
    account, region = where
    filters = [{"Name": "image-id", "Values": sorted(wanted)}, {"Name": "instance-state-name", "Values": states}]
    for page in fake.moto("ec2", where).get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                if instance.get("ImageId") in wanted and instance.get("State", {}).get("Name") in states:
                    arn = f"arn:aws:ec2:{region}:{account}:instance/{instance['InstanceId']}"
                    yield str(instance["ImageId"]), INSTANCE, arn


def _templates(fake: FakeEc2, where: Where, wanted: set[str], depth: int) -> Iterator[Reference]:
    """A template whose newest `depth` versions name one of the images (a plain id: a `resolve:ssm:` value is
    not resolved here)."""
    account, region = where
    ec2 = fake.moto("ec2", where)
    for page in ec2.get_paginator("describe_launch_templates").paginate(PaginationConfig={"PageSize": 200}):
        for template in page.get("LaunchTemplates", []):
            latest = int(template["LatestVersionNumber"])
            named: set[str] = set()
            for low in range(max(1, latest - depth + 1), latest + 1, _VERSIONS_PER_CALL):
                versions = ec2.describe_launch_template_versions(
                    LaunchTemplateId=template["LaunchTemplateId"],
                    MinVersion=str(low),
                    MaxVersion=str(min(latest, low + _VERSIONS_PER_CALL - 1)),
                    MaxResults=_VERSIONS_PER_CALL,
                )["LaunchTemplateVersions"]
                named |= {str(v.get("LaunchTemplateData", {}).get("ImageId")) for v in versions} & wanted
            arn = f"arn:aws:ec2:{region}:{account}:launch-template/{template['LaunchTemplateId']}"
            for image_id in named:
                yield image_id, TEMPLATE, arn


def _parameters(fake: FakeEc2, where: Where, wanted: set[str]) -> Iterator[Reference]:
    """String parameters (of the data types the fake looks at) whose value is one of the images' ids."""
    ssm = fake.moto("ssm", where)
    names = [
        str(p["Name"])
        for page in ssm.get_paginator("describe_parameters").paginate()
        for p in page.get("Parameters", [])
        if p.get("Type") == "String" and (fake.ssm_data_types is None or p.get("DataType") in fake.ssm_data_types)
    ]
    for i in range(0, len(names), 10):  # GetParameters takes at most 10 names
        for parameter in ssm.get_parameters(Names=names[i : i + 10]).get("Parameters", []):
            if parameter.get("Value") in wanted:
                yield str(parameter["Value"]), PARAMETER, str(parameter["ARN"])
