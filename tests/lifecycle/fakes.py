"""An in-memory EC2 + SSM of several accounts and regions behind the AmiLifecycle and Parameters ports, for the
plan and sweep tests: AMIs with snapshots, instances, launch template versions and parameters, and every call
counted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.config import ImageConfig
from bot.config.model import Where
from bot.domain.errors import ImageError
from bot.domain.fleet_types import ImageReference, ImageReferences, OwnedAmi
from bot.domain.times import iso

BAKERY = "123456789012"
MEMBER = "210987654321"
REGION = "eu-west-1"


@dataclass
class Account:
    amis: dict[str, OwnedAmi] = field(default_factory=dict)
    snapshots: set[str] = field(default_factory=set)
    instances: dict[str, tuple[str, str]] = field(default_factory=dict)  # i-… -> (AMI, state)
    templates: dict[str, list[str]] = field(default_factory=dict)  # name -> AMI of version 1, 2, …
    parameters: dict[str, str] = field(default_factory=dict)
    refuse: set[str] = field(default_factory=set)  # AMIs whose deregistration AWS refuses


class World:
    def __init__(self) -> None:
        self.accounts: dict[tuple[str, str], Account] = {}
        self.calls: Counter[str] = Counter()
        self.seq = 0

    def at(self, account: str = BAKERY, region: str = REGION) -> Account:
        return self.accounts.setdefault((account, region), Account())

    def ami(
        self,
        image: str | None,
        created: datetime,
        *,
        account: str = BAKERY,
        region: str = REGION,
        released: bool = False,
        gb: int = 8,
        state: str = "available",
        tags: dict[str, str] | None = None,
        deprecation_time: str | None = None,
    ) -> OwnedAmi:
        self.seq += 1
        ami_id = f"ami-{self.seq:017x}"
        snap = f"snap-{self.seq:017x}"
        all_tags = dict(tags or {})
        if image is not None:
            all_tags["bakery:image"] = image
        if released:
            all_tags["bakery:released"] = "true"
        ami = OwnedAmi(
            ami_id=ami_id,
            name=f"{image}-{self.seq}",
            state=state,
            created=iso(created),
            region=region,
            account_id=account,
            tags=all_tags,
            snapshot_ids=(snap,),
            snapshot_gb=gb,
            deprecation_time=deprecation_time,
        )
        place = self.at(account, region)
        place.amis[ami_id] = ami
        place.snapshots.add(snap)
        return ami

    def lifecycle_for(self, where: Where) -> FakeLifecycle:
        account, region = place_of(where)
        return FakeLifecycle(self, account, region)

    def parameters_for(self, where: Where) -> FakeParameters:
        account, region = place_of(where)
        return FakeParameters(self, account, region)

    def everything(self) -> dict[tuple[str, str], tuple[dict[str, OwnedAmi], set[str]]]:
        """Every AMI (tags, deprecation time) and snapshot: what a dry run must leave as it was."""
        return {k: (dict(a.amis), set(a.snapshots)) for k, a in self.accounts.items() if a.amis or a.snapshots}


def place_of(where: Where) -> tuple[str, str]:
    if isinstance(where, ImageConfig):
        return where.account or BAKERY, where.region or REGION
    return BAKERY, where or REGION


class FakeLifecycle:
    def __init__(self, world: World, account: str, region: str):
        self._world, self._account, self._region = world, account, region
        self._place = world.at(account, region)

    def _count(self, call: str) -> None:
        self._world.calls[call] += 1
        self._world.calls[f"{call}@{self._account}/{self._region}"] += 1

    def bakery_amis(self) -> list[OwnedAmi]:
        self._count("bakery_amis")
        found = [a for a in self._place.amis.values() if "bakery:image" in a.tags]
        return sorted(found, key=lambda a: (a.created, a.ami_id))

    def owned(self, ami_id: str) -> OwnedAmi | None:
        self._count("owned")
        return self._place.amis.get(ami_id)

    def references(self, ami_ids: Sequence[str], *, launch_templates: Sequence[str] = ()) -> ImageReferences:
        self._count("references")
        by: dict[str, list[ImageReference]] = {a: [] for a in ami_ids}
        for iid, (ami, state) in self._place.instances.items():
            if ami in by and state != "terminated":
                by[ami].append(ImageReference(ami, "instance", iid, state))
        for name in launch_templates:
            for n, ami in enumerate(self._place.templates.get(name, []), start=1):
                if ami in by:
                    by[ami].append(ImageReference(ami, "launch-template", f"{name}:{n}", f"version {n} of {name}"))
        return ImageReferences({k: tuple(v) for k, v in by.items()}, method="fake")

    def deprecate(self, ami_id: str, at: datetime) -> None:
        self._count("deprecate")
        ami = self._place.amis[ami_id]
        self._place.amis[ami_id] = replace(ami, deprecation_time=iso(at))

    def tag(self, ami_id: str, tags: dict[str, str]) -> None:
        self._count("tag")
        ami = self._place.amis[ami_id]
        self._place.amis[ami_id] = replace(ami, tags={**ami.tags, **tags})

    def deregister(self, ami: OwnedAmi) -> None:
        self._count("deregister")
        if ami.ami_id in self._place.refuse:
            raise ImageError(f"AWS refused to deregister {ami.ami_id}: deregistration protection is on")
        del self._place.amis[ami.ami_id]
        self._place.snapshots -= set(ami.snapshot_ids)


class FakeParameters:
    def __init__(self, world: World, account: str, region: str):
        self._world, self._account, self._region = world, account, region

    def get(self, name: str) -> str | None:
        return self._world.at(self._account, self._region).parameters.get(name)

    def put(self, name: str, value: str) -> None:
        self._world.at(self._account, self._region).parameters[name] = value

    def under(self, path: str) -> dict[str, str]:
        self._world.calls["under"] += 1
        params = self._world.at(self._account, self._region).parameters
        return {k: v for k, v in params.items() if k.startswith(path.rstrip("/") + "/")}
