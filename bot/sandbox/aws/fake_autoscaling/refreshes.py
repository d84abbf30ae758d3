"""An instance refresh as a timeline: where it stands is computed from the clock on each read, not by a thread.

Pending (first 10 % of `duration`) -> InProgress (PercentageComplete rising, InstancesToUpdate falling) ->
Successful. Cancel takes 10 % of `duration`; a rollback takes the share of it that it undoes. A refresh marked to
fail stops halfway: Failed, or with AutoRollback a rollback to RollbackSuccessful.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ACTIVE = ("Pending", "InProgress", "Baking", "Cancelling", "RollbackInProgress")
_PENDING_SHARE = 0.1  # of `duration`, before the first instance is replaced; also how long a cancel takes


@dataclass
class Refresh:
    id: str
    group: str
    region: str
    started: float
    instances: int
    strategy: str
    desired: dict[str, Any]
    preferences: dict[str, Any]
    fail_reason: str | None = None
    account: str = ""  # the account the group is in (its caller's, §13)
    status: str = "Pending"
    phase_started: float = 0.0
    percentage: int = 0
    status_reason: str = ""
    ended: float | None = None
    rollback: dict[str, Any] = field(default_factory=dict)  # RollbackDetails once rolling back

    @property
    def to_update(self) -> int:
        if self.rollback:  # what is left to undo: the instances replaced before the rollback began
            replaced: int = self.instances - self.rollback["InstancesToUpdateOnRollback"]
            return math.ceil(replaced * (1 - self.percentage / 100))
        return math.ceil(self.instances * (1 - self.percentage / 100))

    def enter(self, status: str, at: float) -> None:
        self.status, self.phase_started = status, at

    def finish(self, status: str, at: float) -> None:
        self.status, self.ended = status, at

    def cancel(self, at: float) -> None:
        self.enter("Cancelling", at)

    def start_rollback(self, at: float, reason: str) -> None:
        self.rollback = {
            "RollbackReason": reason,
            "RollbackStartTime": iso(at),
            "PercentageCompleteOnRollback": self.percentage,
            "InstancesToUpdateOnRollback": self.to_update,
        }
        self.percentage = 0
        self.enter("RollbackInProgress", at)

    def as_wire(self) -> dict[str, Any]:
        """The InstanceRefresh members DescribeInstanceRefreshes answers (None: left out)."""
        return {
            "InstanceRefreshId": self.id,
            "AutoScalingGroupName": self.group,
            "Status": self.status,
            "StatusReason": self.status_reason or None,
            "StartTime": iso(self.started),
            "EndTime": iso(self.ended) if self.ended is not None else None,
            "PercentageComplete": self.percentage,
            "InstancesToUpdate": self.to_update,
            "Preferences": self.preferences or None,
            "DesiredConfiguration": self.desired or None,
            "RollbackDetails": self.rollback or None,
            "Strategy": self.strategy,
        }


def settle(r: Refresh, now: float, duration: float) -> bool:
    """Moves r along its timeline up to now; each phase starts when the previous one ended.

    True when r has just succeeded, so the caller moves the group onto the desired configuration as AWS does.
    """
    while True:
        elapsed = now - r.phase_started
        if r.status == "Pending":
            if elapsed < duration * _PENDING_SHARE:
                return False
            r.enter("InProgress", r.phase_started + duration * _PENDING_SHARE)
        elif r.status == "InProgress":
            span = duration * (1 - _PENDING_SHARE)
            done = elapsed / span if span > 0 else 1.0
            if r.fail_reason is not None and done >= 0.5:
                r.percentage = 50
                _fail(r, r.phase_started + span * 0.5)
            elif done >= 1:
                r.percentage = 100
                r.finish("Successful", r.phase_started + span)
                return True
            else:
                r.percentage = min(99, int(done * 100))
                return False
        elif r.status == "Cancelling":
            if elapsed < duration * _PENDING_SHARE:
                return False
            r.finish("Cancelled", r.phase_started + duration * _PENDING_SHARE)
            return False
        elif r.status == "RollbackInProgress":
            # Undoing takes as long as the replacements it undoes, and at least the pending share.
            span = duration * max(_PENDING_SHARE, r.rollback["PercentageCompleteOnRollback"] / 100)
            if elapsed < span:
                r.percentage = int(elapsed / span * 100)
                return False
            r.percentage = 100
            r.finish("RollbackSuccessful", r.phase_started + span)
            return False
        else:
            return False


def _fail(r: Refresh, at: float) -> None:
    reason = r.fail_reason or "The instance refresh failed."
    if str(r.preferences.get("AutoRollback", "false")).lower() == "true":
        r.start_rollback(at, reason)
        r.status_reason = reason
    else:
        r.status_reason = reason
        r.finish("Failed", at)


def iso(epoch: float) -> str:
    """A timestamp as the Query protocol writes it: ISO 8601 in UTC, to the millisecond."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
