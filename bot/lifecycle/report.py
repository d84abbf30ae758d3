"""What a lifecycle sweep decided and did, as facts (§14): removed, deprecated, kept because of use (and why),
failed, and the snapshot storage freed; bot/slack/gc_blocks.py words them."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.fleet_types import OwnedAmi

# EBS snapshot storage, as the README's price table states it (standard tier, per GB-month).
SNAPSHOT_PRICE_PER_GB_MONTH = 0.05


@dataclass(frozen=True)
class Use:
    """One reason an AMI is in use: an instance, a launch template version, a `latest` parameter, a bake in flight
    or a rollout, in the account and region where it was found."""

    kind: str  # instance | launch-template | ssm-parameter | bake | rollout | other
    resource: str  # i-…, lt-…:<version>, the parameter's name, the request or rollout id
    detail: str = ""  # e.g. "stopped", "source AMI of a bake in flight"
    account: str = ""  # "" for the bakery's own account


@dataclass(frozen=True)
class Planned:
    """One AMI and what the sweep does with it, with why (and, when kept because of use, every use found)."""

    image: str
    ami: OwnedAmi
    why: str
    uses: tuple[Use, ...] = ()

    @property
    def ami_id(self) -> str:
        return self.ami.ami_id


@dataclass(frozen=True)
class Failure:
    """An AMI the sweep meant to remove or deprecate and AWS refused: kept, and found again by the next sweep."""

    planned: Planned
    action: str  # deregister | deprecate
    reason: str


@dataclass(frozen=True)
class SweepReport:
    """One sweep's outcome; a dry run's says what a sweep would do now (`dry_run`), and changes nothing."""

    dry_run: bool
    removed: tuple[Planned, ...] = ()  # on a dry run: what would be removed
    deprecated: tuple[Planned, ...] = ()
    in_use: tuple[Planned, ...] = ()  # would have been removed, kept because something uses it
    failed: tuple[Failure, ...] = ()
    kept: int = 0  # kept by the lifecycle's counts and ages (not worth a line each)
    unconfigured: tuple[str, ...] = ()  # `bakery:image` values naming no configured image: their AMIs left alone
    unreachable: tuple[str, ...] = ()  # account+region the sweep could not read, and why: nothing removed there
    images: tuple[str, ...] = field(default_factory=tuple)  # the images swept

    @property
    def says_anything(self) -> bool:
        """Whether the sweep did or found anything worth a message (a daily sweep of nothing posts nothing)."""
        return bool(self.removed or self.deprecated or self.in_use or self.failed or self.unreachable)

    @property
    def freed_gb(self) -> int:
        return sum(p.ami.snapshot_gb for p in self.removed)

    @property
    def freed_per_month(self) -> float:
        return round(self.freed_gb * SNAPSHOT_PRICE_PER_GB_MONTH, 2)


@dataclass(frozen=True)
class GcPreview:
    """`/bake gc`'s private answer: the dry run, and the key of the gc_confirm button that runs it."""

    report: SweepReport
    key: str  # "" when there is nothing to do (no button)
    own_account: str = ""  # the bakery's account: its AMIs are shown by region alone (§13)
