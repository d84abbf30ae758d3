"""A release's distribution as stored (CONTRACT §13): the copies of a released bake's AMI into the `share_with`
regions that lack one, and the listed accounts' permissions on every AMI of the bake. One record per request id,
created once (a redelivered or repeated release finds it), rewritten conditionally as the copies advance."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.domain.models import Ami

DISTRIBUTION = "distribution"  # the state-store kind, keyed by the released bake's request id
ACTIVE = "active"  # the index of the distributions the chore still advances


class DistributionState(StrEnum):
    COPYING = "copying"  # copies asked for, or not yet available
    SHARING = "sharing"  # every copy is available: the accounts' permissions are being granted
    DONE = "done"  # copied and shared; the copies are on the bake
    FAILED = "failed"  # a copy failed, or an error could not be overcome: nothing follows the release

    @property
    def terminal(self) -> bool:
        return self in (DistributionState.DONE, DistributionState.FAILED)


@dataclass(frozen=True)
class Copy:
    """One region's copy: its AMI id once CopyImage answered, and EC2's last state of it."""

    region: str
    ami_id: str = ""
    state: str = ""


@dataclass(frozen=True)
class Distribution:
    request_id: str
    image: str
    source: Ami  # the bake's AMI the copies are made from (in the image's own region)
    amis: tuple[Ami, ...]  # every AMI of the bake before the copies: each is shared too
    accounts: tuple[str, ...]  # share_with.accounts, less the AMIs' own
    copies: tuple[Copy, ...] = ()
    train_id: str = ""
    state: DistributionState = DistributionState.COPYING
    started_at: str = ""
    finished_at: str = ""
    error: str = ""  # the last AWS error, as EC2 worded it
    attempts: int = 0  # errors in a row (the back-off grows with them)
    next_try: str = ""  # the chore leaves the distribution alone until then (ISO 8601)

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", DistributionState(self.state))

    @property
    def terminal(self) -> bool:
        return self.state.terminal

    @property
    def copied(self) -> tuple[Ami, ...]:
        """The copies made so far, as AMIs of the bake's account."""
        return tuple(Ami(c.region, c.ami_id, self.source.account_id) for c in self.copies if c.ami_id)

    def with_copy(self, copy: Copy) -> Distribution:
        copies = tuple(copy if c.region == copy.region else c for c in self.copies)
        return Distribution(**{**self.__dict__, "copies": copies})

    def to_doc(self) -> dict[str, Any]:
        doc = dict(self.__dict__)
        doc["state"] = self.state.value
        doc["source"] = dict(self.source.__dict__)
        doc["amis"] = [dict(a.__dict__) for a in self.amis]
        doc["accounts"] = list(self.accounts)
        doc["copies"] = [dict(c.__dict__) for c in self.copies]
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Distribution:
        d = dict(doc)
        d["source"] = Ami(**d["source"])
        d["amis"] = tuple(Ami(**a) for a in d.get("amis") or ())
        d["accounts"] = tuple(d.get("accounts") or ())
        d["copies"] = tuple(Copy(**c) for c in d.get("copies") or ())
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


def distribution_index(doc: dict[str, Any]) -> str | None:
    """Distributions stay in the 'active' index until they are done or failed (the chore and restarts resume them)."""
    return None if DistributionState(doc.get("state") or DistributionState.COPYING).terminal else ACTIVE
