"""In-memory stand-ins for the fleet's ports (Fleet.runs_of, AmiLifecycle.bakery_amis), counting calls, and the
builders the fleet tests share: a configuration with targets in two regions and a member account, AMIs, bakes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.bakes.record import Bake
from bot.config import Config, parse_config
from bot.domain.errors import FleetError, RoleRefused
from bot.domain.fleet_types import GroupRuns, OwnedAmi
from bot.domain.models import Ami

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MEMBER = "210987654321"
ROLE = f"arn:aws:iam::{MEMBER}:role/ami-bakery-bot"

CONFIG = f"""
slack: {{channel: C0BAKERY}}
access: {{bakers: ["*"], approvers: [U0ALICE], deployers: [U0ALICE]}}
notifications: {{queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/ami-bakery-events}}
fleet: {{stale_after: 7d}}
images:
  base: {{repository: /tmp/base, pipeline: ami-bakery-base, region: eu-west-1}}
  web: {{repository: /tmp/web, pipeline: ami-bakery-web, region: eu-west-1, channel: C0WEB, account_role: {ROLE}}}
targets:
  base-canary: {{image: base, auto_scaling_group: base-canary, launch_template: base-canary}}
  base-us: {{image: base, auto_scaling_group: base-us, launch_template: base-us, region: us-east-1}}
  web-prod: {{image: web, auto_scaling_group: web-prod, launch_template: web-prod}}
"""


def config(text: str = CONFIG) -> Config:
    return parse_config(text)


def ami(n: int, *, image: str = "base", released: bool = True, day: int | None = None, rid: str = "") -> OwnedAmi:
    tags = {"bakery:image": image, "bakery:request-id": rid or f"b-{image[:3]}{n:04d}"}
    if released:
        tags["bakery:released"] = "true"
    return OwnedAmi(
        ami_id=f"ami-{image[:3]}{n:013d}",
        name=f"{image}-{n}",
        state="available",
        created=f"2026-11-{day or n:02d}T10:00:00.000Z",
        region="eu-west-1",
        account_id="123456789012",
        tags=tags,
    )


def bake_of(owned: OwnedAmi, region: str = "eu-west-1", account: str = "") -> Bake:
    return Bake(
        request_id=owned.tags["bakery:request-id"],
        image=owned.tags["bakery:image"],
        requested_by="U0CAROL",
        requested_at="2026-11-01T10:00:00Z",
        reason="",
        channel="C0BAKERY",
        pipeline=f"ami-bakery-{owned.tags['bakery:image']}",
        amis=(Ami(region=region, ami_id=owned.ami_id, account_id=account),),
    )


def runs(group: str, default: str | None, **instances: int) -> GroupRuns:
    return GroupRuns(
        group=group, template_id=f"lt-{group}", default_version=1, default_ami=default, instances=instances
    )


class FakeFleet:
    def __init__(self, groups: dict[str, GroupRuns], calls: list[Any], where: Any, fail: Exception | None = None):
        self._groups, self._calls, self._where, self._fail = groups, calls, where, fail

    def runs_of(self, groups: Sequence[str]) -> dict[str, GroupRuns]:
        self._calls.append(("runs_of", _key(self._where), tuple(groups)))
        if self._fail:
            raise self._fail
        return {g: self._groups[g] for g in groups if g in self._groups}


class FakeLifecycle:
    def __init__(self, amis: list[OwnedAmi], calls: list[Any], where: Any):
        self._amis, self._calls, self._where = amis, calls, where

    def bakery_amis(self) -> list[OwnedAmi]:
        self._calls.append(("bakery_amis", _key(self._where)))
        return list(self._amis)


def _key(where: Any) -> tuple[str, str]:
    """(account role or "", region) of a `where`."""
    if isinstance(where, str) or where is None:
        return "", where or ""
    return where.account_role or "", where.region or ""


class FakeAws:
    """Per (role, region): the groups' runs and the bakery's AMIs; `refuse` names the places that cannot be read."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str], dict[str, GroupRuns]] = {}
        self.amis: dict[tuple[str, str], list[OwnedAmi]] = {}
        self.refuse: dict[tuple[str, str], Exception] = {}
        self.calls: list[Any] = []

    def fleet_for(self, where: Any) -> FakeFleet:
        key = _key(where)
        return FakeFleet(self.groups.get(key, {}), self.calls, where, self.refuse.get(key))

    def lifecycle_for(self, where: Any) -> FakeLifecycle:
        return FakeLifecycle(self.amis.get(_key(where), []), self.calls, where)


__all__ = ["NOW", "FakeAws", "FleetError", "RoleRefused", "ami", "bake_of", "config", "runs"]
