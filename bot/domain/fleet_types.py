"""The value types of the fleet and lifecycle ports (§14): what a group runs, an account's own AMIs, and what
uses them. Kept apart from bot.domain.ports so that each stays short."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GroupRuns:
    """What one Auto Scaling group runs: its launch template's default version's AMI, and per AMI how many of its
    instances were launched from it (two during a refresh)."""

    group: str
    template_id: str  # "" when the group launches from no launch template
    default_version: int  # 0 when unknown
    default_ami: str | None  # the ImageId of the default version; None when it names none
    instances: dict[str, int] = field(default_factory=dict)  # AMI id -> instances


@dataclass(frozen=True)
class OwnedAmi:
    """One of an account's own AMIs, as the lifecycle sweep weighs it."""

    ami_id: str
    name: str
    state: str
    created: str  # ISO 8601, as EC2 reports CreationDate
    region: str
    account_id: str
    tags: dict[str, str] = field(default_factory=dict)
    snapshot_ids: tuple[str, ...] = ()
    # An upper bound of its snapshots' billed storage, in whole GiB rounded up: their full sizes where AWS reports
    # them (FullSnapshotSizeInBytes: the blocks written), else the sizes of the volumes they were taken of.
    snapshot_gb: int = 0
    deprecation_time: str | None = None  # ISO 8601 when a deprecation time is set


@dataclass(frozen=True)
class ImageReference:
    """Something that uses an AMI: an instance, a launch template version, an SSM parameter."""

    ami_id: str
    kind: str  # instance | launch-template | ssm-parameter | other
    resource: str  # i-…, lt-…:<version>, the parameter's name, or the ARN AWS gave
    detail: str = ""  # e.g. "stopped", "version 3 of web-prod"


@dataclass(frozen=True)
class ImageReferences:
    """The answer of AmiLifecycle.references: what uses each AMI, and how it was found (for the report)."""

    by_ami: dict[str, tuple[ImageReference, ...]]
    method: str  # "DescribeImageReferences" | "DescribeInstances+DescribeLaunchTemplateVersions"
