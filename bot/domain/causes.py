"""Why an automatic bake exists (CONTRACT §12): an upstream AMI that moved, or a released parent bake."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

BAKERY_USER = "bakery"  # requested_by of an automatic bake, and its Requested-By trailer


class CauseKind(StrEnum):
    UPSTREAM = "upstream"  # an upstream SSM parameter moved to a new AMI
    PARENT = "parent"  # a parent bake was released


@dataclass(frozen=True)
class Cause:
    """Why an automatic bake (or a train) exists; `trailer` is its `Bakery-Cause:` value (CONTRACT §12)."""

    kind: CauseKind
    image: str  # the image whose upstream moved, or the released parent image
    ami_id: str  # the new upstream AMI, or the parent's released AMI
    parameter: str = ""  # UPSTREAM: the SSM parameter name
    request_id: str = ""  # PARENT: the released parent bake
    train_id: str = ""  # the train this cause belongs to ("" until one is opened)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", CauseKind(self.kind))

    @property
    def trailer(self) -> str:
        if self.kind == CauseKind.UPSTREAM:
            return f"upstream:{self.parameter}={self.ami_id}"
        return f"parent:{self.request_id}"

    @property
    def key(self) -> str:
        """What makes two deliveries of the same cause the same: the idempotency key of what it opens."""
        return self.trailer

    def to_doc(self) -> dict[str, Any]:
        return {**self.__dict__, "kind": self.kind.value}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Cause:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in doc.items() if k in known})
