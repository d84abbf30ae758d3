"""What the bot tells the person who clicked or typed, as facts; `bot.slack.replies` words them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refused:
    """Nothing happened, and why: a domain error the person can act on (bad input, not allowed, not found)."""

    error: Exception


@dataclass(frozen=True)
class Failed:
    """Something went wrong on our side or AWS's; `error` says what."""

    error: Exception


# --- approvals -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deciding:
    """The click won: the decision is on its way to CodePipeline."""

    request_id: str
    approve: bool


@dataclass(frozen=True)
class Decided:
    """CodePipeline took the decision."""

    request_id: str
    approve: bool


@dataclass(frozen=True)
class DecisionRefused:
    """CodePipeline refused the decision (the token was answered, replaced or expired meanwhile)."""

    reason: str


@dataclass(frozen=True)
class DecisionLost:
    """The decision did not reach CodePipeline; the approval is open again."""

    reason: str


# --- rollouts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RolloutOpened:
    rollout_id: str
    target: str
    ami_id: str
    awaits_approval: bool  # else it is starting


@dataclass(frozen=True)
class RolloutApproved:
    rollout_id: str


@dataclass(frozen=True)
class RolloutCanceled:
    """Canceled before it started: the target is free."""

    rollout_id: str
    target: str


@dataclass(frozen=True)
class RolloutCanceling:
    """A cancel of a running refresh was asked for."""

    rollout_id: str


@dataclass(frozen=True)
class RolloutRollingBack:
    rollout_id: str


@dataclass(frozen=True)
class RolloutStands:
    """A rollout answer sent after the rollout moved on: where it stands now, instead of what it was."""

    rollout_id: str
    target: str
    ami_id: str
    status: str


# --- the release train ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChildRebaking:
    """A Rebake <child> click opened the child's bake on the released AMI (request_id "" when none was
    opened: a bake with the same inputs is released, or one of the child is in flight)."""

    child: str
    ami_id: str
    request_id: str
    train_id: str


# --- the lifecycle sweep ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GcSwept:
    """A confirmed sweep ran; its report went to `channel`."""

    removed: int
    freed_gb: int
    in_use: int
    failed: int
    channel: str


Reply = (
    Refused
    | Failed
    | Deciding
    | Decided
    | DecisionRefused
    | DecisionLost
    | RolloutOpened
    | RolloutApproved
    | RolloutCanceled
    | RolloutCanceling
    | RolloutRollingBack
    | RolloutStands
    | ChildRebaking
    | GcSwept
)
