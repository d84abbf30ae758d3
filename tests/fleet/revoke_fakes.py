"""In-memory AWS for the revocation service: one AmiLifecycle, Parameters and Fleet per account and region,
implementing the ports (bot/domain/ports.py) as the adapters do, and remembering every call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.config import ImageConfig
from bot.config.model import Where
from bot.domain.errors import ImageError
from bot.domain.fleet_types import GroupRuns, ImageReferences, OwnedAmi
from bot.domain.times import iso

BAKERY = "123456789012"
MEMBER = "210987654321"


def place_of(where: Where, default_region: str = "eu-west-1") -> tuple[str, str]:
    if isinstance(where, ImageConfig):
        return where.account or BAKERY, where.region or default_region
    return BAKERY, where or default_region


def owned(
    ami_id: str,
    *,
    image: str | None = "web",
    request_id: str = "b-aaaaaaa1",
    created: str = "2026-11-01",
    released: bool = True,
    region: str = "eu-west-1",
    account: str = BAKERY,
    **tags: str,
) -> OwnedAmi:
    all_tags = {"bakery:request-id": request_id, **tags}
    if image is not None:
        all_tags["bakery:image"] = image
    if released:
        all_tags["bakery:released"] = "true"
    return OwnedAmi(ami_id=ami_id, name=ami_id, state="available", created=f"{created}T00:00:00Z", region=region,
                    account_id=account, tags=all_tags)  # fmt: skip


@dataclass
class Aws:
    """The whole fake: AMIs, parameters and groups by (account, region); `calls` lists every one made."""

    amis: dict[tuple[str, str], dict[str, OwnedAmi]] = field(default_factory=dict)
    parameters: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    groups: dict[tuple[str, str], dict[str, GroupRuns]] = field(default_factory=dict)
    calls: list[tuple[str, tuple[str, str], Any]] = field(default_factory=list)
    refuse: set[tuple[str, tuple[str, str]]] = field(default_factory=set)  # (call, place) that raise ImageError

    def add(self, ami: OwnedAmi) -> OwnedAmi:
        self.amis.setdefault((ami.account_id, ami.region), {})[ami.ami_id] = ami
        return ami

    def ami(self, ami_id: str) -> OwnedAmi:
        return next(a for amis in self.amis.values() for a in amis.values() if a.ami_id == ami_id)

    def lifecycle_for(self, where: Where) -> FakeLifecycle:
        return FakeLifecycle(self, place_of(where))

    def parameters_for(self, where: Where) -> FakeParameters:
        return FakeParameters(self, place_of(where))

    def fleet_for(self, where: Where) -> FakeFleet:
        return FakeFleet(self, place_of(where))

    def note(self, call: str, place: tuple[str, str], arg: Any) -> None:
        self.calls.append((call, place, arg))
        if (call, place) in self.refuse:
            raise ImageError(f"{call} refused in {place[1]}: UnauthorizedOperation")

    def named(self, call: str) -> list[tuple[tuple[str, str], Any]]:
        return [(p, a) for c, p, a in self.calls if c == call]


@dataclass
class FakeLifecycle:
    aws: Aws
    place: tuple[str, str]

    def _mine(self) -> dict[str, OwnedAmi]:
        return self.aws.amis.setdefault(self.place, {})

    def bakery_amis(self) -> list[OwnedAmi]:
        self.aws.note("bakery_amis", self.place, None)
        return sorted((a for a in self._mine().values() if "bakery:image" in a.tags), key=lambda a: a.created)

    def owned(self, ami_id: str) -> OwnedAmi | None:
        self.aws.note("owned", self.place, ami_id)
        return self._mine().get(ami_id)

    def references(self, ami_ids: Sequence[str], *, launch_templates: Sequence[str] = ()) -> ImageReferences:
        raise AssertionError("a revocation asks for no references")

    def deprecate(self, ami_id: str, at: datetime) -> None:
        self.aws.note("deprecate", self.place, (ami_id, at))
        self._mine()[ami_id] = replace(self._mine()[ami_id], deprecation_time=iso(at))

    def tag(self, ami_id: str, tags: dict[str, str]) -> None:
        self.aws.note("tag", self.place, (ami_id, tags))
        ami = self._mine()[ami_id]
        self._mine()[ami_id] = replace(ami, tags={**ami.tags, **tags})

    def deregister(self, ami: OwnedAmi) -> None:
        raise AssertionError("a revocation deregisters nothing")


@dataclass
class FakeParameters:
    aws: Aws
    place: tuple[str, str]

    def get(self, name: str) -> str | None:
        self.aws.note("get_parameter", self.place, name)
        return self.aws.parameters.get(self.place, {}).get(name)

    def put(self, name: str, value: str) -> None:
        self.aws.note("put_parameter", self.place, (name, value))
        self.aws.parameters.setdefault(self.place, {})[name] = value

    def under(self, path: str) -> dict[str, str]:
        return {k: v for k, v in self.aws.parameters.get(self.place, {}).items() if k.startswith(path)}


@dataclass
class FakeFleet:
    aws: Aws
    place: tuple[str, str]

    def runs_of(self, groups: Sequence[str]) -> dict[str, GroupRuns]:
        self.aws.note("runs_of", self.place, tuple(groups))
        known = self.aws.groups.get(self.place, {})
        return {g: known[g] for g in groups if g in known}

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a revocation makes no {name} call")
