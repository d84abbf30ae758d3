"""The approval record: one manual approval of a bake's pipeline, as the bot holds it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from bot.domain.models import ApprovalRequest, Verdict


class ApprovalStatus(StrEnum):
    """Where a manual approval stands; stored as these strings."""

    PENDING = "pending"
    DECIDING = "deciding"  # a decision is claimed; put_approval_result is on its way
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"  # the execution ended (superseded, stopped, canceled) while it waited
    DECIDED_ELSEWHERE = "decided-elsewhere"  # the console (or the CLI) answered it
    REFUSED = "refused"  # CodePipeline refused the token: answered or expired meanwhile

    @classmethod
    def open_states(cls) -> frozenset[ApprovalStatus]:
        """Someone may still decide (or a decision made here is still on its way)."""
        return frozenset({cls.PENDING, cls.DECIDING})

    @classmethod
    def terminal_states(cls) -> frozenset[ApprovalStatus]:
        return frozenset(cls) - cls.open_states()

    @property
    def open(self) -> bool:
        return self in self.open_states()

    @property
    def terminal(self) -> bool:
        return not self.open


@dataclass(frozen=True)
class ApprovalState:
    """One manual approval of a bake's pipeline, as the bot holds it: the notification CodePipeline sent,
    and what became of it here. The token (inside `request`) never leaves the server."""

    key: str  # the short opaque key the buttons carry
    request: ApprovalRequest  # pipeline, stage, action, token, expiry and links, as notified
    execution_id: str = ""
    received_at: str = ""
    status: ApprovalStatus = ApprovalStatus.PENDING
    decided_by: str = ""
    decided_at: str = ""
    verdict: Verdict | None = None  # APPROVE or REJECT: what the decider asked for
    reason: str = ""
    note: str = ""  # why it closed, when not by a decision made here
    claim: str = ""  # nonce of the click that won the right to decide
    # Until when (epoch seconds) that claim is its replica's to send; after that, recovery takes it over (0: stale).
    claim_until: float = 0.0

    def __post_init__(self) -> None:
        # Callers may pass the stored strings; the record always holds the enums.
        object.__setattr__(self, "status", ApprovalStatus(self.status))
        object.__setattr__(self, "verdict", Verdict(self.verdict) if self.verdict else None)

    @property
    def open(self) -> bool:
        return self.status.open

    def to_doc(self) -> dict[str, Any]:
        doc = dict(self.__dict__)
        doc["request"] = dict(self.request.__dict__)
        doc["status"] = self.status.value
        doc["verdict"] = self.verdict.value if self.verdict else ""  # "" for none, as stored before the enums
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
