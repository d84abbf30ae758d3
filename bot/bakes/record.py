"""The bake record: everything the bot knows about one bake, stored as one versioned document."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from bot.approvals.record import ApprovalState
from bot.domain.causes import Cause
from bot.domain.models import STAGES, Ami, BakeRequest, Decision, Notice, NoticeKind, PipelineState

BAKE = "bake"  # state kind
ACTIVE = "active"  # sparse index of the bakes whose message may still lag their record

# --- the bake record -------------------------------------------------------------------------------


PUBLISH_STAGE = STAGES[-1]  # "Publish": its success is what makes a bake released (CONTRACT §11, §12)


class BakeStatus(StrEnum):
    """Where a bake stands; stored as these strings."""

    REQUESTED = "requested"  # state written, commit not yet made
    COMMITTED = "committed"  # commit pushed, pipeline not yet seen
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SUPERSEDED = "superseded"
    CANCELED = "canceled"
    STOPPED = "stopped"
    ERROR = "error"  # the bot could not make the commit

    @classmethod
    def terminal_states(cls) -> frozenset[BakeStatus]:
        return frozenset({cls.SUCCEEDED, cls.FAILED, cls.SUPERSEDED, cls.CANCELED, cls.STOPPED, cls.ERROR})

    @property
    def terminal(self) -> bool:
        return self in self.terminal_states()

    @classmethod
    def of_execution(cls, state: str) -> BakeStatus:
        """The bake's status once its pipeline execution is in `state` (an unknown state reads as running)."""
        return _OF_EXECUTION.get(PipelineState(state), cls.RUNNING) if state in _PIPELINE_STATES else cls.RUNNING


_PIPELINE_STATES = frozenset(PipelineState)
_OF_EXECUTION: dict[PipelineState, BakeStatus] = {
    PipelineState.STARTED: BakeStatus.RUNNING,
    PipelineState.RESUMED: BakeStatus.RUNNING,
    PipelineState.STOPPING: BakeStatus.RUNNING,
    PipelineState.SUCCEEDED: BakeStatus.SUCCEEDED,
    PipelineState.FAILED: BakeStatus.FAILED,
    PipelineState.SUPERSEDED: BakeStatus.SUPERSEDED,
    PipelineState.CANCELED: BakeStatus.CANCELED,
    PipelineState.STOPPED: BakeStatus.STOPPED,
}


@dataclass(frozen=True)
class StepState:
    """The last known state of a stage or an action, and when it started and ended."""

    state: str
    updated: str  # event time of the state we hold (orders out-of-order deliveries)
    started: str = ""
    ended: str = ""
    external_url: str = ""
    summary: str = ""
    category: str = ""


@dataclass(frozen=True)
class Bake:
    """Everything the bot knows about one bake; stored as one versioned document."""

    request_id: str
    image: str
    requested_by: str
    requested_at: str
    reason: str
    channel: str
    pipeline: str
    origin: str = "slack"  # "slack" | "push" (a commit pushed by hand)
    author: str = ""  # the commit's author, for commits pushed by hand
    author_email: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    source_ami: str | None = None
    # The release train (CONTRACT §12): the inputs fingerprint, why an automatic bake exists, and its train.
    inputs: str = ""
    cause: Cause | None = None
    train_id: str = ""
    forced: bool = False  # /bake --force: baked although a released bake had the same inputs
    status: BakeStatus = BakeStatus.REQUESTED
    # While 'requested': the replica making the commit and until when (epoch seconds) that claim holds; it is
    # renewed while the commit is made, and a lapsed one is taken over by recovery (bot/bakes/committing.py).
    committer: str = ""
    commit_claim_until: float = 0.0
    commit_id: str = ""
    commit_url: str = ""
    execution_id: str = ""
    execution_state: StepState | None = None
    stages: dict[str, StepState] = field(default_factory=dict)
    actions: dict[str, StepState] = field(default_factory=dict)  # key "Stage/Action"
    amis: tuple[Ami, ...] = ()
    log_url: str = ""
    error: str = ""
    message_ts: str = ""
    notices: tuple[Notice, ...] = ()
    approvals: tuple[ApprovalState, ...] = ()
    decisions: tuple[Decision, ...] = ()
    reply_ts: dict[str, str] = field(default_factory=dict)  # live thread replies (edited in place) by key
    posting: dict[str, str] = field(default_factory=dict)  # Slack posts begun, not yet saved (bot.publishing)
    updated_at: str = ""
    finished_at: str = ""
    # False while the Slack message lags the record: the publisher sets it once it has shown everything.
    settled: bool = False

    def __post_init__(self) -> None:
        # Callers may pass the stored string; the record always holds the enum.
        object.__setattr__(self, "status", BakeStatus(self.status))

    @property
    def released(self) -> bool:
        """Publish succeeded (it tags the AMI released); a succeeded execution ran every stage, Publish included."""
        publish = self.stages.get(PUBLISH_STAGE)
        return self.status == BakeStatus.SUCCEEDED or (publish is not None and publish.state == PipelineState.SUCCEEDED)

    @property
    def terminal(self) -> bool:
        return self.status.terminal

    def request(self) -> BakeRequest:
        return BakeRequest(
            request_id=self.request_id,
            image=self.image,
            requested_by=self.requested_by,
            requested_at=self.requested_at,
            reason=self.reason,
            variables=dict(self.variables),
            source_ami=self.source_ami,
            inputs=self.inputs,
            cause=self.cause.trailer if self.cause else "",
            train=self.train_id,
        )

    def approval(self, key: str) -> ApprovalState | None:
        return next((a for a in self.approvals if a.key == key), None)

    def with_approval(self, state: ApprovalState) -> Bake:
        """This bake with `state` replacing the approval of the same key (or added)."""
        others = tuple(a for a in self.approvals if a.key != state.key)
        if len(others) == len(self.approvals):
            return replace(self, approvals=(*self.approvals, state))
        return replace(self, approvals=tuple(state if a.key == state.key else a for a in self.approvals))

    def with_notice(self, key: str, kind: NoticeKind, **fields: Any) -> Bake:
        """This record owing one more thread reply; a key already owed (or posted) is not owed twice."""
        if any(n.key == key for n in self.notices):
            return self
        return replace(self, notices=(*self.notices, Notice(key=key, kind=kind, fields=fields)))

    def to_doc(self) -> dict[str, Any]:
        # Written on every state change: a direct copy, since dataclasses.asdict deep-copies every leaf.
        doc = dict(self.__dict__)
        doc["status"] = self.status.value
        doc["variables"] = dict(self.variables)
        doc["execution_state"] = dict(self.execution_state.__dict__) if self.execution_state else None
        doc["stages"] = {k: dict(v.__dict__) for k, v in self.stages.items()}
        doc["actions"] = {k: dict(v.__dict__) for k, v in self.actions.items()}
        doc["amis"] = [dict(a.__dict__) for a in self.amis]
        doc["notices"] = [n.to_doc() for n in self.notices]
        doc["approvals"] = [a.to_doc() for a in self.approvals]
        doc["decisions"] = [d.to_doc() for d in self.decisions]
        doc["reply_ts"] = dict(self.reply_ts)
        doc["posting"] = dict(self.posting)
        doc["cause"] = self.cause.to_doc() if self.cause else None
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Bake:
        d = dict(doc)
        d["status"] = BakeStatus(d.get("status") or BakeStatus.REQUESTED)
        if d.get("execution_state"):
            d["execution_state"] = StepState(**d["execution_state"])
        d["stages"] = {k: StepState(**v) for k, v in (d.get("stages") or {}).items()}
        d["actions"] = {k: StepState(**v) for k, v in (d.get("actions") or {}).items()}
        d["amis"] = tuple(Ami(**a) for a in d.get("amis") or ())
        d["notices"] = tuple(Notice.from_doc(n) for n in d.get("notices") or ())
        d["approvals"] = tuple(ApprovalState.from_doc(a) for a in d.get("approvals") or ())
        d["decisions"] = tuple(Decision.from_doc(x) for x in d.get("decisions") or ())
        d["reply_ts"] = dict(d.get("reply_ts") or {})
        d["posting"] = dict(d.get("posting") or {})
        d["variables"] = dict(d.get("variables") or {})
        d["cause"] = Cause.from_doc(d["cause"]) if d.get("cause") else None
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


def bake_index(doc: dict[str, Any]) -> str | None:
    """Bakes stay in the 'active' index until their Slack message shows everything (restart recovery)."""
    return None if doc.get("settled") else ACTIVE
