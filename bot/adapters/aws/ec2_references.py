"""What uses an account's AMIs in one region (AmiLifecycle.references, §14), in batches, never one call per AMI.

Where the region offers it, DescribeImageReferences: at most 10 image ids a call (EC2's limit), each answer paged,
over instances in every state but terminated, launch templates (their newest 10,000 versions: the option's upper
limit; AWS's default is 10) and SSM parameters. Where it does not (EC2 answers InvalidAction or
UnsupportedOperation for an action a region lacks; moto, without the local EC2 stand-in, answers a 500 that
botocore cannot parse), DescribeInstances filtered by image-id (200 values a call) and instance state. The first
refusal is remembered for that client, so later calls go straight to the fallback.

Either way the targets' own launch templates are read in full (DescribeLaunchTemplateVersions, every page), so
"any version of a target's launch template" holds however many versions it has: version-depth caps what
DescribeImageReferences looks at.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from bot.adapters.aws.aws_call import aws_call
from bot.domain.errors import BakeryError, ImageError
from bot.domain.fleet_types import ImageReference, ImageReferences

BY_REFERENCES = "DescribeImageReferences"
BY_DESCRIBING = "DescribeInstances+DescribeLaunchTemplateVersions"
IMAGES_PER_REFERENCES_CALL = 10  # DescribeImageReferences' ImageIds: 1 to 10
FILTER_VALUES = 200  # EC2 takes at most 200 values in one filter
VERSIONS_PER_PAGE = 200  # DescribeLaunchTemplateVersions' MaxResults: 1 to 200
VERSION_DEPTH = "10000"  # DescribeImageReferences' version-depth: 1 to 10,000
# Every state but terminated: a shutting-down instance still runs its AMI.
REFERENCE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]
FALLBACK_STATES = ["pending", "running", "stopping", "stopped"]
# How a region without DescribeImageReferences answers (the terraform AWS provider meets InvalidAction for EC2
# actions a region lacks); UnsupportedOperation is EC2's common code for a request it does not support.
_UNAVAILABLE_CODES = frozenset({"InvalidAction", "UnsupportedOperation"})
_TEMPLATE_GONE = frozenset({"InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateName.NotFoundException"})
_KINDS = {"ec2:Instance": "instance", "ec2:LaunchTemplate": "launch-template", "ssm:Parameter": "ssm-parameter"}
_ORDER = ("instance", "launch-template", "ssm-parameter", "other")

# The clients whose region answered that it has no DescribeImageReferences (a client is one region of one
# account): weakly held, so a client dropped by its owner is forgotten with it.
_unavailable: weakref.WeakSet[Any] = weakref.WeakSet()
_lock = threading.Lock()


class _Unavailable(BakeryError):
    """The region has no DescribeImageReferences."""


def references(ec2: Any, ami_ids: Sequence[str], launch_templates: Sequence[str]) -> ImageReferences:
    """What uses each AMI in the client's account and region; every asked id is a key of `by_ami`."""
    ids = list(dict.fromkeys(ami_ids))
    found: list[ImageReference] = []
    method = BY_DESCRIBING
    if ids and not _known_unavailable(ec2):
        try:
            found = list(_by_references(ec2, ids))
            method = BY_REFERENCES
        except _Unavailable:
            with _lock:
                _unavailable.add(ec2)
    if ids and method == BY_DESCRIBING:
        found = list(_by_instances(ec2, ids))
    versions = list(_template_versions(ec2, set(ids), launch_templates))
    # DescribeImageReferences names a template without its version: the versions read here say more.
    versioned = {(r.ami_id, r.resource.split(":")[0]) for r in versions}
    found = [r for r in found if r.kind != "launch-template" or (r.ami_id, r.resource) not in versioned]
    by_ami: dict[str, list[ImageReference]] = {ami_id: [] for ami_id in ids}
    for reference in dict.fromkeys([*found, *versions]):
        by_ami.setdefault(reference.ami_id, []).append(reference)
    return ImageReferences(
        by_ami={
            ami: tuple(sorted(refs, key=lambda r: (_ORDER.index(r.kind), r.resource))) for ami, refs in by_ami.items()
        },
        method=method,
    )


def _known_unavailable(ec2: Any) -> bool:
    with _lock:
        return ec2 in _unavailable


def _by_references(ec2: Any, ids: list[str]) -> Iterator[ImageReference]:
    resource_types = [
        {
            "ResourceType": "ec2:Instance",
            "ResourceTypeOptions": [{"OptionName": "state-name", "OptionValues": REFERENCE_STATES}],
        },
        {
            "ResourceType": "ec2:LaunchTemplate",
            "ResourceTypeOptions": [{"OptionName": "version-depth", "OptionValues": [VERSION_DEPTH]}],
        },
        {"ResourceType": "ssm:Parameter"},
    ]
    for batch in _batches(ids, IMAGES_PER_REFERENCES_CALL):
        pages = ec2.get_paginator("describe_image_references").paginate(ImageIds=batch, ResourceTypes=resource_types)
        for item in _read_references(ec2, batch, pages):
            yield _reference(item)


def _read_references(ec2: Any, batch: list[str], pages: Any) -> list[dict[str, Any]]:
    doing = f"find what uses AMIs {', '.join(batch)} in {ec2.meta.region_name}"
    try:
        return [item for page in pages for item in page.get("ImageReferences", [])]
    except ResponseParserError as exc:  # moto's 500 for an action it does not implement
        raise _Unavailable(str(exc)) from exc
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _UNAVAILABLE_CODES:
            raise _Unavailable(str(exc)) from exc
        raise _error(doing, exc) from exc
    except BotoCoreError as exc:
        raise _error(doing, exc) from exc


def _reference(item: dict[str, Any]) -> ImageReference:
    """One DescribeImageReferences item, its resource named as the bot names it (i-…, lt-…, a parameter's name)."""
    arn = str(item.get("Arn", ""))
    kind = _KINDS.get(str(item.get("ResourceType", "")), "other")
    resource = arn.split(":", 5)[-1] if arn.count(":") >= 5 else arn
    if kind in ("instance", "launch-template"):
        resource = resource.rsplit("/", 1)[-1]  # instance/i-… and launch-template/lt-…
    elif kind == "ssm-parameter":
        name = resource.removeprefix("parameter/")
        resource = f"/{name}" if "/" in name else name  # a hierarchical name's ARN drops its leading slash
    else:
        resource = arn
    return ImageReference(ami_id=str(item["ImageId"]), kind=kind, resource=resource)


def _by_instances(ec2: Any, ids: list[str]) -> Iterator[ImageReference]:
    wanted = set(ids)
    for batch in _batches(ids, FILTER_VALUES):
        filters = [
            {"Name": "image-id", "Values": batch},
            {"Name": "instance-state-name", "Values": FALLBACK_STATES},
        ]
        pages = ec2.get_paginator("describe_instances").paginate(Filters=filters)
        doing = f"find the instances of AMIs {_few(batch)} in {ec2.meta.region_name}"
        for reservation in _read(doing, partial(_items, pages, "Reservations")):
            for instance in reservation.get("Instances", []):
                state = str((instance.get("State") or {}).get("Name", ""))
                if instance.get("ImageId") in wanted and state in FALLBACK_STATES:
                    yield ImageReference(str(instance["ImageId"]), "instance", str(instance["InstanceId"]), state)


def _template_versions(ec2: Any, wanted: set[str], templates: Sequence[str]) -> Iterator[ImageReference]:
    """Every version of each of `templates` (an id lt-…, or a name) that names one of the AMIs."""
    if not wanted:
        return
    for template in dict.fromkeys(templates):
        ident = {"LaunchTemplateId": template} if template.startswith("lt-") else {"LaunchTemplateName": template}
        pages = ec2.get_paginator("describe_launch_template_versions").paginate(
            **ident, PaginationConfig={"PageSize": VERSIONS_PER_PAGE}
        )
        doing = f"read the versions of launch template {template} in {ec2.meta.region_name}"
        try:
            versions = _read(doing, partial(_items, pages, "LaunchTemplateVersions"))
        except _TemplateGone:
            continue  # a template that no longer exists uses nothing
        for version in versions:
            ami = (version.get("LaunchTemplateData") or {}).get("ImageId")
            if ami in wanted:
                number = int(version.get("VersionNumber", 0))
                default = " (its default)" if version.get("DefaultVersion") else ""
                yield ImageReference(
                    ami_id=str(ami),
                    kind="launch-template",
                    resource=f"{version.get('LaunchTemplateId', template)}:{number}",
                    detail=f"version {number} of {version.get('LaunchTemplateName', template)}{default}",
                )


class _TemplateGone(ImageError):
    """The launch template does not exist."""


def _items(pages: Any, key: str) -> dict[str, Any]:
    return {key: [item for page in pages for item in page.get(key, [])]}


def _read(doing: str, read: Callable[[], dict[str, Any]]) -> list[dict[str, Any]]:
    """Every page of one paginated read (pages are fetched lazily, so the calls and their errors happen here)."""
    errors: dict[str, type[BakeryError]] = {code: _TemplateGone for code in _TEMPLATE_GONE}
    answer = aws_call(doing, read, errors=errors, default=ImageError, service="EC2")
    return list(next(iter(answer.values())))


def _error(doing: str, exc: ClientError | BotoCoreError) -> ImageError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "UnknownError")
        return ImageError(f"Could not {doing}: {error.get('Message') or code} ({code})")
    return ImageError(f"Could not {doing}: EC2 is unreachable ({exc})")


def _few(ids: list[str]) -> str:
    return ", ".join(ids) if len(ids) <= 3 else f"{', '.join(ids[:3])} and {len(ids) - 3} more"


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
