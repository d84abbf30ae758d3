"""What a person asked for with `/bake`, parsed: one record per subcommand (CONTRACT §6)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class ListImages:
    pass


@dataclass(frozen=True)
class Status:
    subject: str | None  # request id, image name, or None for "everything in flight"


@dataclass(frozen=True)
class Bake:
    image: str
    variables: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    source_ami: str | None = None
    force: bool = False  # `--force`: bake even when a released bake has the same inputs (§12)


@dataclass(frozen=True)
class Rollout:
    target: str
    ami_id: str | None = None


@dataclass(frozen=True)
class FleetCommand:
    """`/bake fleet [<image> | <target>]` (§14): what the targets run; None for every target."""

    subject: str | None = None


@dataclass(frozen=True)
class Revoke:
    """`/bake revoke <ami-id> <reason>` (§14): withdraw a released AMI; the reason is required."""

    ami_id: str
    reason: str


@dataclass(frozen=True)
class Gc:
    """`/bake gc` (§14): what the lifecycle sweep would remove now, with a button to run it."""


Command = Help | ListImages | Status | Bake | Rollout | FleetCommand | Revoke | Gc
