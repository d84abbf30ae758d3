"""What Auto Scaling groups run (§14), in a few calls for many groups: the groups in batches of 100
(DescribeAutoScalingGroups), their instances' AMIs in batches (DescribeInstances), each distinct launch
template's default version (DescribeLaunchTemplateVersions: the region's defaults in one paginated call when the
groups use several templates, else the one template's). Errors are FleetError."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any, cast

from bot.adapters.aws.aws_call import aws_call
from bot.domain.errors import FleetError
from bot.domain.fleet_types import GroupRuns

GROUPS_PER_CALL = 100  # DescribeAutoScalingGroups takes at most 100 names
INSTANCES_PER_CALL = 500  # DescribeInstances: a batch of ids per call, each answer paginated
VERSIONS_PER_PAGE = 200  # DescribeLaunchTemplateVersions' MaxResults: 1 to 200
_GONE = frozenset({"terminated", "shutting-down"})


class _NoTemplate(FleetError):
    """The group names a launch template that no longer exists: shown as no default AMI, not as a failure."""


_TEMPLATE_GONE = {
    "InvalidLaunchTemplateId.NotFound": _NoTemplate,
    "InvalidLaunchTemplateName.NotFoundException": _NoTemplate,
}


def runs_of(ec2: Any, autoscaling: Any, groups: Sequence[str]) -> dict[str, GroupRuns]:
    """Each existing group's launch template default-version AMI and its instances' AMIs with their counts."""
    found: list[dict[str, Any]] = []
    names = list(dict.fromkeys(groups))
    for batch in _batches(names, GROUPS_PER_CALL):
        pages = autoscaling.get_paginator("describe_auto_scaling_groups").paginate(AutoScalingGroupNames=batch)
        found.extend(_pages(f"describe Auto Scaling groups {', '.join(batch)}", pages, "AutoScalingGroups"))
    instance_ids = [i["InstanceId"] for g in found for i in g.get("Instances", [])]
    image_of = _instance_images(ec2, instance_ids)
    specs = _templates(found)
    # Many templates: every default version of the account's templates in one paginated call (AWS documents
    # that omitting the template lists the $Default of each); one template: just its own.
    defaults = _all_defaults(ec2) if len(specs) > 1 else {key: _default_ami(ec2, spec) for key, spec in specs.items()}
    runs: dict[str, GroupRuns] = {}
    for group in found:
        spec = _template_spec(group)
        key = _template_key(spec) if spec else ""
        template_id, version, ami = defaults.get(key, ("", 0, None))
        counts = Counter(image_of[i["InstanceId"]] for i in group.get("Instances", []) if i["InstanceId"] in image_of)
        name = group["AutoScalingGroupName"]
        runs[name] = GroupRuns(
            group=name, template_id=template_id, default_version=version, default_ami=ami, instances=dict(counts)
        )
    return runs


def _instance_images(ec2: Any, instance_ids: list[str]) -> dict[str, str]:
    """Instance id -> the AMI it was launched from, for the instances that are not terminated."""
    images: dict[str, str] = {}
    for batch in _batches(instance_ids, INSTANCES_PER_CALL):
        pages = ec2.get_paginator("describe_instances").paginate(InstanceIds=batch)
        for reservation in _pages("describe the groups' instances", pages, "Reservations"):
            for instance in reservation.get("Instances", []):
                if instance.get("State", {}).get("Name") not in _GONE and instance.get("ImageId"):
                    images[instance["InstanceId"]] = instance["ImageId"]
    return images


def _templates(groups: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    specs: dict[str, dict[str, Any]] = {}
    for group in groups:
        spec = _template_spec(group)
        if spec:
            specs.setdefault(_template_key(spec), spec)
    return specs


def _default_ami(ec2: Any, spec: dict[str, Any]) -> tuple[str, int, str | None]:
    """(template id, default version number, its ImageId) of one launch template."""
    ident = {"LaunchTemplateId": spec["LaunchTemplateId"]} if spec.get("LaunchTemplateId") else {
        "LaunchTemplateName": spec.get("LaunchTemplateName", "")
    }  # fmt: skip
    try:
        answer = aws_call(
            f"read the default version of launch template {next(iter(ident.values()))}",
            ec2.describe_launch_template_versions,
            errors=_TEMPLATE_GONE,
            default=FleetError,
            service="EC2",
            Versions=["$Default"],
            **ident,
        )
    except _NoTemplate:
        return ("", 0, None)
    versions = answer.get("LaunchTemplateVersions", [])
    if not versions:
        return ("", 0, None)
    version = versions[0]
    ami = version.get("LaunchTemplateData", {}).get("ImageId")
    return (version.get("LaunchTemplateId", ""), int(version.get("VersionNumber", 0)), ami)


def _all_defaults(ec2: Any) -> dict[str, tuple[str, int, str | None]]:
    """Every launch template's default version in the region, by id and by `name:<name>`."""
    pages = ec2.get_paginator("describe_launch_template_versions").paginate(
        Versions=["$Default"], PaginationConfig={"PageSize": VERSIONS_PER_PAGE}
    )
    defaults: dict[str, tuple[str, int, str | None]] = {}
    for version in _pages("read the default versions of the launch templates", pages, "LaunchTemplateVersions"):
        found = (
            version.get("LaunchTemplateId", ""),
            int(version.get("VersionNumber", 0)),
            version.get("LaunchTemplateData", {}).get("ImageId"),
        )
        defaults[found[0]] = found
        defaults[f"name:{version.get('LaunchTemplateName', '')}"] = found
    return defaults


def _template_spec(group: dict[str, Any]) -> dict[str, Any] | None:
    if group.get("LaunchTemplate"):
        return cast(dict[str, Any], group["LaunchTemplate"])
    mixed = group.get("MixedInstancesPolicy") or {}
    return (mixed.get("LaunchTemplate") or {}).get("LaunchTemplateSpecification") or None


def _template_key(spec: dict[str, Any]) -> str:
    return str(spec.get("LaunchTemplateId") or f"name:{spec.get('LaunchTemplateName', '')}")


def _pages(doing: str, pages: Any, key: str) -> list[dict[str, Any]]:
    def read() -> dict[str, Any]:
        return {key: [item for page in pages for item in page.get(key, [])]}

    return cast(list[dict[str, Any]], aws_call(doing, read, errors={}, default=FleetError, service="AWS")[key])


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
