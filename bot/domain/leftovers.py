"""What a killed build leaves behind: its temporary instances, key pairs and security groups, and the port to them.

Every build tags what it makes with `bakery:build=<pipeline execution id>` (Packer's run_tags and run_volume_tags,
packer/scripts/smoke_test.sh's tag specifications). A timed-out CodeBuild build is killed without running
Packer's cleanup or the smoke test's EXIT trap; the leak sweep (bot/runtime/leak_sweep.py) removes what is left.
Only that tag marks a resource as a build's: a fleet instance launched from a baked AMI never carries it, and
another Packer user's `packer_*` key pair neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.domain.errors import BakeryError

TAG_BUILD = "bakery:build"
# An instance in these states still holds its key pair name and security group; "terminated" holds nothing.
LIVE_STATES = frozenset({"pending", "running", "stopping", "stopped", "shutting-down"})
TERMINABLE_STATES = frozenset({"pending", "running", "stopping", "stopped"})


class LeftoverError(BakeryError):
    """An EC2 call of the leak sweep failed."""


@dataclass(frozen=True)
class BuildInstance:
    instance_id: str
    build: str
    launched: datetime
    state: str


@dataclass(frozen=True)
class BuildKeyPair:
    key_pair_id: str
    name: str
    build: str
    created: datetime


@dataclass(frozen=True)
class BuildSecurityGroup:
    group_id: str
    name: str
    build: str


class BuildResources(Protocol):
    """The resources tagged bakery:build in one region, and their removal (raises LeftoverError)."""

    region: str

    def instances(self) -> list[BuildInstance]: ...

    def key_pairs(self) -> list[BuildKeyPair]: ...

    def security_groups(self) -> list[BuildSecurityGroup]: ...

    def terminate(self, instance_ids: list[str]) -> None: ...

    def delete_key_pair(self, name: str) -> None:
        """Delete it; a key pair already gone is not an error."""
        ...

    def delete_security_group(self, group_id: str) -> bool:
        """Delete it; False when something still uses it (try again later). A group already gone is not an error."""
        ...
