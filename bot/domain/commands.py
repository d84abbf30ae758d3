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


Command = Help | ListImages | Status | Bake | Rollout
