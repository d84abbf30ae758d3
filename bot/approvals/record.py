"""The approval record: one manual approval of a bake's pipeline, as the bot holds it."""

from __future__ import annotations

from dataclasses import dataclass

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
