"""The AMI lifecycle's port (§14), beside bot.domain.ports (which re-exports it) so that each stays short."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.domain.fleet_types import ImageReferences, OwnedAmi


class AmiLifecycle(Protocol):
    """The bakery's AMIs in one account and region, for the fleet, revocation and the lifecycle sweep (§14).

    Errors are ImageError (and subclasses). Every call acts in the account the client was made for.
    """

    def bakery_amis(self) -> list[OwnedAmi]:
        """This account's own AMIs tagged `bakery:image` in the region, deprecated ones included, oldest first."""
        ...

    def owned(self, ami_id: str) -> OwnedAmi | None:
        """One AMI of this account (whatever its tags), or None when this account owns no such AMI."""
        ...

    def references(self, ami_ids: Sequence[str], *, launch_templates: Sequence[str] = ()) -> ImageReferences:
        """What in this account and region uses each AMI: instances (running or stopped), launch template versions
        (every version of `launch_templates`, ids or names, however many), SSM parameters. DescribeImageReferences
        where the region offers it, else DescribeInstances and DescribeLaunchTemplateVersions; never one call
        per AMI."""
        ...

    def deprecate(self, ami_id: str, at: datetime) -> None:
        """EnableImageDeprecation at `at` (now, for a revocation)."""
        ...

    def tag(self, ami_id: str, tags: dict[str, str]) -> None:
        """Add or overwrite tags on the AMI (`bakery:revoked=<reason>`)."""
        ...

    def deregister(self, ami: OwnedAmi) -> None:
        """Deregister the AMI and delete its snapshots: with the deregistration (DeleteAssociatedSnapshots), or
        one by one where that option is unavailable. ImageError when AWS refuses (the AMI is kept)."""
        ...
