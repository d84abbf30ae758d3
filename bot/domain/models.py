"""Frozen domain records shared by every domain: a bake request, pipeline messages, AMIs, decisions, notices."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
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
TAG_INPUTS = "bakery:inputs"  # the inputs fingerprint (§12), copied by the build from bake-request.json
TAG_TRAIN = "bakery:train"  # the train a bake is a hop of (§10, §12), copied by the build from bake-request.json

REQUEST_FILE = "bake-request.json"
TRAILER_REQUEST = "Bakery-Request"
TRAILER_REQUESTED_BY = "Requested-By"
TRAILER_CAUSE = "Bakery-Cause"  # why the bakery itself asked (§12): upstream:<parameter>=<ami> | parent:<request-id>

# SNS payloads and SQS messages are at most 256 KiB. Wrapped in an SNS envelope the payload grows (JSON
# escaping of the Message string, the signature fields), so the whole body gets twice that room.
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_BODY_BYTES = 2 * MAX_PAYLOAD_BYTES

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
    inputs: str = ""  # the inputs fingerprint (§12); "" when the source AMI is not pinned
    cause: str = ""  # an automatic bake's `Bakery-Cause:` trailer value (§12)
    train: str = ""  # the train (`t-…`) this bake is a hop of (§12), the build's `bakery:train` tag; "" for none

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
        if self.inputs:
            doc["inputs"] = self.inputs
        if self.train:
            doc["train"] = self.train
        return json.dumps(doc, indent=2, sort_keys=False) + "\n"

    def commit_message(self) -> str:
        subject = f"bake({self.image}): {self.reason or 'requested in Slack'}"
        trailers = f"{TRAILER_REQUEST}: {self.request_id}\n{TRAILER_REQUESTED_BY}: {self.requested_by}\n"
        if self.cause:
            trailers += f"{TRAILER_CAUSE}: {self.cause}\n"
        return f"{subject}\n\n{trailers}"


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


class PipelineState(StrEnum):
    """The states CodePipeline reports for an execution, a stage or an action (REFERENCE: CodePipeline events).

    Events keep the state as sent (a state AWS adds later still flows through as text); code compares it
    with these members, which equal their strings.
    """

    STARTED = "STARTED"
    RESUMED = "RESUMED"
    STOPPING = "STOPPING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SUPERSEDED = "SUPERSEDED"
    CANCELED = "CANCELED"
    STOPPED = "STOPPED"
    ABANDONED = "ABANDONED"

    @classmethod
    def running_states(cls) -> frozenset[PipelineState]:
        """States that mean the step is (again) under way."""
        return frozenset({cls.STARTED, cls.RESUMED, cls.STOPPING})

    @classmethod
    def terminal_states(cls) -> frozenset[PipelineState]:
        """States after which nothing more happens in that execution, stage or action."""
        return frozenset({cls.SUCCEEDED, cls.FAILED, cls.SUPERSEDED, cls.CANCELED, cls.STOPPED, cls.ABANDONED})

    @classmethod
    def is_terminal(cls, state: str) -> bool:
        """For an event's state as sent, which may be one AWS added after this was written."""
        return state in cls.terminal_states()

    @classmethod
    def is_running(cls, state: str) -> bool:
        return state in cls.running_states()


@dataclass(frozen=True)
class PipelineEvent:
    """One CodePipeline EventBridge event (pipeline, stage or action execution state change)."""

    level: str  # "pipeline" | "stage" | "action"
    pipeline: str
    execution_id: str
    state: str  # as sent; compare with PipelineState members
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


class Verdict(StrEnum):
    """What a person asked for with a button (stored as these strings)."""

    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"
    ROLLBACK = "rollback"
    START = "start"


@dataclass(frozen=True)
class Decision:
    """A decision made in Slack and what came of it; kept for `/bake status` and the audit trail."""

    subject: str  # e.g. "Approve/ManualApproval" or "rollout r-7f3k2q"
    user: str
    verdict: Verdict
    at: str
    outcome: str  # e.g. "approved", "rejected", "refused by CodePipeline: …"
    reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", Verdict(self.verdict))

    def to_doc(self) -> dict[str, Any]:
        return {**self.__dict__, "verdict": self.verdict.value}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Decision:
        return cls(**doc)


class NoticeKind(StrEnum):
    """What a thread reply says, as a fact; `bot.slack.notices` words each kind (stored as these strings)."""

    TEXT = "text"  # a notice stored as text before notices were facts: shown as it was written
    ACTION_FAILED = "action_failed"  # stage, action, summary, log_url
    APPROVAL_REJECTED = "approval_rejected"  # stage, action, summary, log_url
    EXECUTION_ENDED = "execution_ended"  # execution_id, state: superseded, canceled or stopped
    RESULT_FAILED = "result_failed"  # status, log_url: the build's own report
    COMMIT_FAILED = "commit_failed"  # reason
    ROLE_REFUSED = "role_refused"  # reason: the bakery cannot reach the image's account (§13), in one sentence
    INTERRUPTED = "interrupted"  # the bot restarted before the bake's commit was confirmed
    NO_AMIS = "no_amis"  # the pipeline succeeded but no AMI was found
    ROLLOUT_ENDED = "rollout_ended"  # rollout_id, target, ami_id, status, version, detail
    STOP_FAILED = "stop_failed"  # rollout_id, rollback, error
    DEFAULT_VERSION_FAILED = "default_version_failed"  # version, error
    DISTRIBUTION_FAILED = "distribution_failed"  # error, final, retry_seconds, regions, accounts (§13)


@dataclass(frozen=True)
class Notice:
    """A thread reply the publisher owes a record's message, as a fact; `posted` once it is sent.

    `fields` holds plain values (str, int, bool) only, so a notice is stored as it is and words can change
    without rewriting stored records.
    """

    key: str
    kind: NoticeKind
    fields: dict[str, Any] = field(default_factory=dict)
    posted: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", NoticeKind(self.kind))

    def to_doc(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind.value, "fields": dict(self.fields), "posted": self.posted}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Notice:
        posted = bool(doc.get("posted", False))
        if "kind" not in doc:  # stored by a version that wrote notices as text
            return cls(key=doc["key"], kind=NoticeKind.TEXT, fields={"text": doc.get("text", "")}, posted=posted)
        return cls(key=doc["key"], kind=doc["kind"], fields=dict(doc.get("fields") or {}), posted=posted)
