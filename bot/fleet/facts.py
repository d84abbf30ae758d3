"""What `/bake fleet` and the stale digest say about each target (§14), as facts; bot/slack/fleet_blocks.py words
them. Pure values: the view (bot/fleet/view.py) makes them from what EC2 and Auto Scaling answered."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FleetState(StrEnum):
    CURRENT = "current"  # everything it runs (default version and instances) is the newest good release
    BEHIND = "behind"  # something it runs is older than the newest good release, or not a release at all
    REVOKED = "revoked"  # something it runs was revoked
    NO_RELEASE = "no release"  # its image has no good release in its account and region: nothing to roll onto
    UNREAD = "unread"  # its account or region could not be read (the reason says why)
    MISSING = "missing"  # its Auto Scaling group does not exist there


@dataclass(frozen=True)
class RunningAmi:
    """One AMI a target runs: in its launch template's default version and/or on `instances` of its instances."""

    ami_id: str
    instances: int  # how many running instances were launched from it
    default: bool  # the launch template's default version names it
    bakes_behind: int | None  # good releases newer than it; None when it is not a release of the image there
    revoked: str | None = None  # the revocation's reason, when revoked


@dataclass(frozen=True)
class TargetFleet:
    target: str
    image: str
    region: str
    account_id: str  # the account it runs in ("" when the bakery's own, unnamed)
    state: FleetState
    runs: tuple[RunningAmi, ...] = ()  # the default version's AMI first, then the instances' by count
    newest: str | None = None  # the image's newest good (released, unrevoked) AMI there
    bakes_behind: int = 0  # the most good releases made after any AMI it runs (one from elsewhere counts none)
    behind_since: str | None = None  # ISO: when the first release newer than what it runs was made
    days_behind: int = 0
    button: str | None = None  # the `rollout_start` key rolling it onto `newest`; None when current or unknown
    rollout: str | None = None  # the rollout of it in flight, "r-… (status)"
    problem: str = ""  # why it could not be read (UNREAD, MISSING), or why there is no button

    @property
    def not_current(self) -> bool:
        return self.state in (FleetState.BEHIND, FleetState.REVOKED)


@dataclass(frozen=True)
class FleetReport:
    """`/bake fleet [<image> | <target>]`: each target asked for, in the order they are shown."""

    subject: str | None
    targets: tuple[TargetFleet, ...]
    own_account: str = ""  # the bakery's account: its targets are shown by region alone (§13)
