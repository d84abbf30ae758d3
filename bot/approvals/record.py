"""The approval record: one manual approval of a bake's pipeline, as the bot holds it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from bot.domain.models import ApprovalRequest

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
    """One manual approval of a bake's pipeline, as the bot holds it: the notification CodePipeline sent,
    and what became of it here. The token (inside `request`) never leaves the server."""

    key: str  # the short opaque key the buttons carry
    request: ApprovalRequest  # pipeline, stage, action, token, expiry and links, as notified
    execution_id: str = ""
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

    def to_doc(self) -> dict[str, Any]:
        doc = dict(self.__dict__)
        doc["request"] = dict(self.request.__dict__)
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> ApprovalState:
        d = dict(doc)
        if "request" in d:
            d["request"] = ApprovalRequest(**d["request"])
        else:
            # Written before the state held its request: the request's fields sat beside the state's own.
            request = {f: d.pop(f) for f in _REQUEST_FIELDS if f in d}
            d["request"] = ApprovalRequest(**{"region": "", "console_link": "", **request})
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in known})


_REQUEST_FIELDS = tuple(f.name for f in fields(ApprovalRequest))
