"""The rollout record: one rolling redeploy of a target onto an AMI, stored as one versioned document."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from bot.domain.models import Decision, Notice

# Rollout.status values.
AWAITING_APPROVAL = "awaiting_approval"
STARTING = "starting"  # approved (or no approval needed); the launch template version and refresh are next
IN_PROGRESS = "in_progress"
CANCELLING = "cancelling"
ROLLING_BACK = "rolling_back"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
ROLLED_BACK = "rolled_back"
ROLLBACK_FAILED = "rollback_failed"
ERROR = "error"  # could not start
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED, ROLLED_BACK, ROLLBACK_FAILED, ERROR})
POLLED = frozenset({IN_PROGRESS, CANCELLING, ROLLING_BACK})

# describe_instance_refreshes Status -> Rollout.status
REFRESH_STATUS = {
    "Pending": IN_PROGRESS,
    "InProgress": IN_PROGRESS,
    "Baking": IN_PROGRESS,
    "Cancelling": CANCELLING,
    "Cancelled": CANCELLED,
    "RollbackInProgress": ROLLING_BACK,
    "RollbackSuccessful": ROLLED_BACK,
    "RollbackFailed": ROLLBACK_FAILED,
    "Failed": FAILED,
    "Successful": SUCCEEDED,
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
    status: str = STARTING
    approved_by: str = ""
    approved_at: str = ""
    template_id: str = ""
    template_name: str = ""
    previous_version: int = 0
    version: int = 0
    refresh_id: str = ""
    refresh_status: str = ""
    percentage: int = 0
    instances_to_update: int = 0
    status_reason: str = ""
    error: str = ""
    decisions: tuple[Decision, ...] = ()
    message_ts: str = ""
    notices: tuple[Notice, ...] = ()
    reply_ts: dict[str, str] = field(default_factory=dict)
    updated_at: str = ""
    finished_at: str = ""
    polled_at: float = 0.0  # monotonic-ish wall time of the last describe (bounds the poll rate)
    settled: bool = False

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def with_notice(self, key: str, text: str) -> Rollout:
        if any(n.key == key for n in self.notices):
            return self
        return replace(self, notices=(*self.notices, Notice(key=key, text=text)))

    def with_decision(self, decision: Decision) -> Rollout:
        return self if decision in self.decisions else replace(self, decisions=(*self.decisions, decision))

    def to_doc(self) -> dict[str, Any]:
        doc = dict(self.__dict__)
        doc["decisions"] = [dict(d.__dict__) for d in self.decisions]
        doc["notices"] = [dict(n.__dict__) for n in self.notices]
        doc["reply_ts"] = dict(self.reply_ts)
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Rollout:
        d = dict(doc)
        d["decisions"] = tuple(Decision(**x) for x in d.get("decisions") or ())
        d["notices"] = tuple(Notice(**n) for n in d.get("notices") or ())
        d["reply_ts"] = dict(d.get("reply_ts") or {})
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


def rollout_index(doc: dict[str, Any]) -> str | None:
    """Rollouts stay in the 'active' index until their message shows the end (polling and restarts)."""
    return None if doc.get("settled") else "active"
