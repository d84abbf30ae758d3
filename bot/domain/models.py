"""Frozen domain records shared by every domain: a bake request, pipeline messages, AMIs, decisions, notices."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
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

# Pipeline, stage and action states after which nothing more happens in that execution.
TERMINAL_EVENT_STATES = frozenset({"SUCCEEDED", "FAILED", "SUPERSEDED", "CANCELED", "STOPPED", "ABANDONED"})


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
