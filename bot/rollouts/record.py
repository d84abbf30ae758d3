"""The rollout record: one rolling redeploy of a target onto an AMI, stored as one versioned document."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from bot.domain.ids import random_id
from bot.domain.models import Decision, Notice, NoticeKind


def new_rollout_id() -> str:
    return random_id("r")


class RolloutStatus(StrEnum):
    """Where a rollout stands; stored as these strings.

    The code spells "canceled" one way (as CodePipeline and the bake states do); the stored values keep the
    "cancelled"/"cancelling" they were written with, so rollouts already in a state store still load.
    """

    AWAITING_APPROVAL = "awaiting_approval"
    STARTING = "starting"  # approved (or no approval needed); the launch template version and refresh are next
    IN_PROGRESS = "in_progress"
    CANCELING = "cancelling"
    ROLLING_BACK = "rolling_back"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "cancelled"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"
    ERROR = "error"  # could not start

    @classmethod
    def terminal_states(cls) -> frozenset[RolloutStatus]:
        return frozenset({cls.SUCCEEDED, cls.FAILED, cls.CANCELED, cls.ROLLED_BACK, cls.ROLLBACK_FAILED, cls.ERROR})

    @classmethod
    def polled_states(cls) -> frozenset[RolloutStatus]:
        """An instance refresh is under way: the poller follows it."""
        return frozenset({cls.IN_PROGRESS, cls.CANCELING, cls.ROLLING_BACK})

    @property
    def terminal(self) -> bool:
        return self in self.terminal_states()

    @property
    def polled(self) -> bool:
        return self in self.polled_states()

    @classmethod
    def of_refresh(cls, status: str) -> RolloutStatus:
        """The rollout's status for a describe_instance_refreshes Status (an unknown one reads as in progress)."""
        return _OF_REFRESH.get(status, cls.IN_PROGRESS)


_OF_REFRESH = {
    "Pending": RolloutStatus.IN_PROGRESS,
    "InProgress": RolloutStatus.IN_PROGRESS,
    "Baking": RolloutStatus.IN_PROGRESS,
    "Cancelling": RolloutStatus.CANCELING,
    "Cancelled": RolloutStatus.CANCELED,
    "RollbackInProgress": RolloutStatus.ROLLING_BACK,
    "RollbackSuccessful": RolloutStatus.ROLLED_BACK,
    "RollbackFailed": RolloutStatus.ROLLBACK_FAILED,
    "Failed": RolloutStatus.FAILED,
    "Successful": RolloutStatus.SUCCEEDED,
}


@dataclass(frozen=True)
class Rollout:
    rollout_id: str
    target: str
    image: str
    ami_id: str
    region: str
    auto_scaling_group: str
    requested_by: str
    requested_at: str
    channel: str
    approval_needed: bool
    thread_ts: str = ""  # the bake's message when the AMI came from a bake the bot reported
    request_id: str = ""  # that bake
    train_id: str = ""  # the release train this rollout is a hop of (CONTRACT §12)
    status: RolloutStatus = RolloutStatus.STARTING
    approved_by: str = ""
    approved_at: str = ""
    template_id: str = ""
    template_name: str = ""
    previous_version: int = 0
    version: int = 0
    refresh_id: str = ""
    refresh_status: str = ""
    # While 'starting': the replica starting it and until when (epoch seconds); a lapsed claim is taken over.
    starter: str = ""
    start_claim_until: float = 0.0
    percentage: int = 0
    instances_to_update: int = 0
    status_reason: str = ""
    error: str = ""
    decisions: tuple[Decision, ...] = ()
    message_ts: str = ""
    notices: tuple[Notice, ...] = ()
    reply_ts: dict[str, str] = field(default_factory=dict)
    posting: dict[str, str] = field(default_factory=dict)  # Slack posts begun, not yet saved (bot.publishing)
    updated_at: str = ""
    finished_at: str = ""
    polled_at: float = 0.0  # monotonic-ish wall time of the last describe (bounds the poll rate)
    settled: bool = False

    def __post_init__(self) -> None:
        # Callers may pass the stored string; the record always holds the enum.
        object.__setattr__(self, "status", RolloutStatus(self.status))

    @property
    def terminal(self) -> bool:
        return self.status.terminal

    def with_notice(self, key: str, kind: NoticeKind, **fields: Any) -> Rollout:
        """This record owing one more thread reply; a key already owed (or posted) is not owed twice."""
        if any(n.key == key for n in self.notices):
            return self
        return replace(self, notices=(*self.notices, Notice(key=key, kind=kind, fields=fields)))

    def with_decision(self, decision: Decision) -> Rollout:
        return self if decision in self.decisions else replace(self, decisions=(*self.decisions, decision))

    def to_doc(self) -> dict[str, Any]:
        doc = dict(self.__dict__)
        doc["status"] = self.status.value
        doc["decisions"] = [d.to_doc() for d in self.decisions]
        doc["notices"] = [n.to_doc() for n in self.notices]
        doc["reply_ts"] = dict(self.reply_ts)
        doc["posting"] = dict(self.posting)
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Rollout:
        d = dict(doc)
        d["decisions"] = tuple(Decision.from_doc(x) for x in d.get("decisions") or ())
        d["notices"] = tuple(Notice.from_doc(n) for n in d.get("notices") or ())
        d["reply_ts"] = dict(d.get("reply_ts") or {})
        d["posting"] = dict(d.get("posting") or {})
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


def rollout_index(doc: dict[str, Any]) -> str | None:
    """Rollouts stay in the 'active' index until their message shows the end (polling and restarts)."""
    return None if doc.get("settled") else "active"


@dataclass(frozen=True)
class TargetRuns:
    """The AMI a target runs as far as the bot knows: its last rollout that succeeded, and since when."""

    target: str
    rollout_id: str
    request_id: str  # the bake that AMI came from, "" when it came from none the bot reported
    ami_id: str
    since: str
    replaced_request_id: str = ""  # the bake whose AMI it replaced: its message must stop saying it runs

    def replaced(self, rollout: Rollout) -> bool:
        """Whether this target moved on from `rollout` (a succeeded one) to another since."""
        return self.rollout_id != rollout.rollout_id and self.since >= rollout.finished_at
