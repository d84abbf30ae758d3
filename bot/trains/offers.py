"""A Rebake <child> offer as stored: what the button means, who clicked it, what it opened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RebakeOffer:
    key: str
    parent_request_id: str
    child: str
    ami_id: str
    train_id: str = ""
    clicked_by: str = ""
    opened: str = ""  # the child bake's request id once a click opened it

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> RebakeOffer:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in doc.items() if k in known})
