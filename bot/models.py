"""Frozen domain records: what a bake request, a pipeline event, a bake result and a bake are."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

# CONTRACT §11: every image pipeline has these stages, in this order.
STAGES: tuple[str, ...] = ("Source", "Validate", "Bake", "Test", "Approve", "Publish")

# CONTRACT §10: the tags every bake writes on its AMIs.
TAG_IMAGE = "bakery:image"
TAG_REQUEST_ID = "bakery:request-id"
TAG_COMMIT = "bakery:commit"
TAG_PARENT_AMI = "bakery:parent-ami"
TAG_REQUESTED_BY = "bakery:requested-by"
TAG_EXECUTION = "bakery:pipeline-execution"
TAG_RELEASED = "bakery:released"

REQUEST_FILE = "bake-request.json"
TRAILER_REQUEST = "Bakery-Request"
TRAILER_REQUESTED_BY = "Requested-By"

REQUEST_ID_RE = re.compile(r"^[bh]-[a-z0-9]{6,12}$")


@dataclass(frozen=True)
class BakeRequest:
    """What `/bake` commits as `bake-request.json` (CONTRACT §7)."""

    request_id: str
    image: str
    requested_by: str
    requested_at: str  # ISO 8601, UTC, "Z"
    reason: str
    variables: dict[str, str] = field(default_factory=dict)
    source_ami: str | None = None

    def to_json(self) -> str:
        doc: dict[str, Any] = {
            "request_id": self.request_id,
            "image": self.image,
            "requested_by": self.requested_by,
            "requested_at": self.requested_at,
            "reason": self.reason,
            "variables": dict(self.variables),
        }
        if self.source_ami:
            doc["source_ami"] = self.source_ami
        return json.dumps(doc, indent=2, sort_keys=False) + "\n"

    def commit_message(self) -> str:
        subject = f"bake({self.image}): {self.reason or 'requested in Slack'}"
        return f"{subject}\n\n{TRAILER_REQUEST}: {self.request_id}\n{TRAILER_REQUESTED_BY}: {self.requested_by}\n"


def parse_trailers(message: str) -> dict[str, str]:
    """The `Key: value` trailers of a commit message's last paragraph."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return {}
    trailers: dict[str, str] = {}
    for line in paragraphs[-1].splitlines():
        key, sep, value = line.partition(":")
        if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", key.strip()):
            trailers[key.strip()] = value.strip()
    return trailers


@dataclass(frozen=True)
class CommitInfo:
    """A commit in an image repository, as the bot needs it to report a bake."""

    commit_id: str
    author: str
    message: str
    author_email: str = ""

    @property
    def subject(self) -> str:
        return self.message.strip().splitlines()[0] if self.message.strip() else ""

    @property
    def request_id(self) -> str | None:
        value = parse_trailers(self.message).get(TRAILER_REQUEST)
        return value if value and REQUEST_ID_RE.match(value) else None

    @property
    def requested_by(self) -> str | None:
        return parse_trailers(self.message).get(TRAILER_REQUESTED_BY)


@dataclass(frozen=True)
class PipelineEvent:
    """One CodePipeline EventBridge event (pipeline, stage or action execution state change)."""

    level: str  # "pipeline" | "stage" | "action"
    pipeline: str
    execution_id: str
    state: str
    time: str  # ISO 8601 from the event envelope
    region: str = ""
    account: str = ""
    stage: str = ""
    action: str = ""
    category: str = ""
    external_url: str = ""
    summary: str = ""
    event_id: str = ""

    @property
    def dedupe_key(self) -> str:
        return "|".join((self.pipeline, self.execution_id, self.level, self.stage, self.action, self.state))


@dataclass(frozen=True)
class ApprovalRequest:
    """A CodePipeline manual-approval notification (REFERENCE: JSON data format for approvals)."""

    region: str
    console_link: str
    pipeline: str
    stage: str
    action: str
    token: str
    expires: str
    external_link: str = ""
    review_link: str = ""
    custom_data: str = ""


@dataclass(frozen=True)
class Ami:
    region: str
    ami_id: str
    account_id: str = ""


@dataclass(frozen=True)
class BakeResult:
    """The build's own report when Packer finishes (CONTRACT §8.3)."""

    image: str
    request_id: str
    commit_id: str
    pipeline: str
    execution_id: str
    status: str
    amis: tuple[Ami, ...]
    log_url: str = ""


Notification = PipelineEvent | ApprovalRequest | BakeResult


# --- the bake record -------------------------------------------------------------------------------

# Bake.status values.
REQUESTED = "requested"  # state written, commit not yet made
COMMITTED = "committed"  # commit pushed, pipeline not yet seen
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
SUPERSEDED = "superseded"
CANCELED = "canceled"
STOPPED = "stopped"
ERROR = "error"  # the bot could not make the commit
TERMINAL = frozenset({SUCCEEDED, FAILED, SUPERSEDED, CANCELED, STOPPED, ERROR})

# CodePipeline execution state -> Bake.status
PIPELINE_STATUS = {
    "STARTED": RUNNING,
    "RESUMED": RUNNING,
    "STOPPING": RUNNING,
    "SUCCEEDED": SUCCEEDED,
    "FAILED": FAILED,
    "SUPERSEDED": SUPERSEDED,
    "CANCELED": CANCELED,
    "STOPPED": STOPPED,
}
TERMINAL_EVENT_STATES = frozenset({"SUCCEEDED", "FAILED", "SUPERSEDED", "CANCELED", "STOPPED", "ABANDONED"})


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


# ApprovalState.status values.
APPROVAL_PENDING = "pending"
APPROVAL_DECIDING = "deciding"  # a decision is claimed; put_approval_result is on its way
APPROVED = "approved"
REJECTED = "rejected"
APPROVAL_EXPIRED = "expired"
APPROVAL_SUPERSEDED = "superseded"  # the execution ended (superseded, stopped, canceled) while it waited
APPROVAL_DECIDED_ELSEWHERE = "decided-elsewhere"  # the console (or the CLI) answered it
APPROVAL_REFUSED = "refused"  # CodePipeline refused the token: answered or expired meanwhile
APPROVAL_OPEN = frozenset({APPROVAL_PENDING, APPROVAL_DECIDING})


@dataclass(frozen=True)
class ApprovalState:
    """One manual approval of a bake's pipeline, as the bot holds it; the token never leaves the server."""

    key: str  # the short opaque key the buttons carry
    pipeline: str
    stage: str
    action: str
    token: str
    expires: str  # ISO 8601 UTC as CodePipeline sends it ("2026-11-26T09:14Z")
    execution_id: str = ""
    region: str = ""
    console_link: str = ""
    review_link: str = ""
    external_link: str = ""
    custom_data: str = ""
    received_at: str = ""
    status: str = APPROVAL_PENDING
    decided_by: str = ""
    decided_at: str = ""
    verdict: str = ""  # "approve" | "reject": what the decider asked for
    reason: str = ""
    note: str = ""  # why it closed, when not by a decision made here
    claim: str = ""  # nonce of the click that won the right to decide

    @property
    def open(self) -> bool:
        return self.status in APPROVAL_OPEN


@dataclass(frozen=True)
class Decision:
    """A decision made in Slack and what came of it; kept for `/bake status` and the audit trail."""

    subject: str  # e.g. "Approve/ManualApproval" or "rollout r-7f3k2q"
    user: str
    verdict: str  # "approve" | "reject" | "cancel" | "rollback" | "start"
    at: str
    outcome: str  # e.g. "approved", "rejected", "refused by CodePipeline: …"
    reason: str = ""


@dataclass(frozen=True)
class Notice:
    """A thread reply the publisher owes a bake's message; `posted` once it is sent."""

    key: str
    text: str
    posted: bool = False


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
    status: str = REQUESTED
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
    updated_at: str = ""
    finished_at: str = ""
    # False while the Slack message lags the record: the publisher sets it once it has shown everything.
    settled: bool = False

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def request(self) -> BakeRequest:
        return BakeRequest(
            request_id=self.request_id,
            image=self.image,
            requested_by=self.requested_by,
            requested_at=self.requested_at,
            reason=self.reason,
            variables=dict(self.variables),
            source_ami=self.source_ami,
        )

    def approval(self, key: str) -> ApprovalState | None:
        return next((a for a in self.approvals if a.key == key), None)

    def with_approval(self, state: ApprovalState) -> Bake:
        """This bake with `state` replacing the approval of the same key (or added)."""
        others = tuple(a for a in self.approvals if a.key != state.key)
        if len(others) == len(self.approvals):
            return replace(self, approvals=(*self.approvals, state))
        return replace(self, approvals=tuple(state if a.key == state.key else a for a in self.approvals))

    def with_notice(self, key: str, text: str) -> Bake:
        if any(n.key == key for n in self.notices):
            return self
        return replace(self, notices=(*self.notices, Notice(key=key, text=text)))

    def to_doc(self) -> dict[str, Any]:
        # Written on every state change: a direct copy, since dataclasses.asdict deep-copies every leaf.
        doc = dict(self.__dict__)
        doc["variables"] = dict(self.variables)
        doc["execution_state"] = dict(self.execution_state.__dict__) if self.execution_state else None
        doc["stages"] = {k: dict(v.__dict__) for k, v in self.stages.items()}
        doc["actions"] = {k: dict(v.__dict__) for k, v in self.actions.items()}
        doc["amis"] = [dict(a.__dict__) for a in self.amis]
        doc["notices"] = [dict(n.__dict__) for n in self.notices]
        doc["approvals"] = [dict(a.__dict__) for a in self.approvals]
        doc["decisions"] = [dict(d.__dict__) for d in self.decisions]
        doc["reply_ts"] = dict(self.reply_ts)
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Bake:
        d = dict(doc)
        if d.get("execution_state"):
            d["execution_state"] = StepState(**d["execution_state"])
        d["stages"] = {k: StepState(**v) for k, v in (d.get("stages") or {}).items()}
        d["actions"] = {k: StepState(**v) for k, v in (d.get("actions") or {}).items()}
        d["amis"] = tuple(Ami(**a) for a in d.get("amis") or ())
        d["notices"] = tuple(Notice(**n) for n in d.get("notices") or ())
        d["approvals"] = tuple(ApprovalState(**a) for a in d.get("approvals") or ())
        d["decisions"] = tuple(Decision(**x) for x in d.get("decisions") or ())
        d["reply_ts"] = dict(d.get("reply_ts") or {})
        d["variables"] = dict(d.get("variables") or {})
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})
