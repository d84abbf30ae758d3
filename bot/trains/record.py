"""The train record and the cause that starts one: the shared vocabulary of the release train (CONTRACT §12).

A train is everything one cause sets moving: an upstream AMI that moved, or a bake released by a person.
It has one top-level message (in its root image's channel), an index of its hops; the bakes and rollouts
keep their own messages. Hops are added with conditional writes keyed by what caused them (`Hop.key`),
so a release delivered twice, or an upstream check racing a topic message, adds each hop once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from bot.domain.causes import Cause

TRAIN = "train"  # the state-store kind of train records


ASK_REBAKE = "ask-rebake:"  # key prefix of an ASK hop for a child: the Rebake <child> button (`bake_children`)
ASK_ROLLOUT = "ask-rollout:"  # key prefix of an ASK hop for a target: the bake's Roll out button (`rollout_start`)


class HopKind(StrEnum):
    BAKE = "bake"
    ROLLOUT = "rollout"
    DISTRIBUTION = "distribution"  # a release's copies and shares (§13), `ref` its request id; children follow it
    ASK = "ask"  # a child waiting for a person to press Rebake (on_parent_release: ask) or Roll out (on_release: ask)


@dataclass(frozen=True)
class Hop:
    """One line of a train: a bake (request id), a rollout (rollout id), or a button waiting for a person.

    `key` is the hop's idempotency key within the train, e.g. "bake:web@ami-…" or "rollout:web-prod@ami-…";
    `ref` is the record it points at (a bake's request id, a rollout's id; "" for ASK).
    `parent_ref` is the hop this one follows (the released bake's request id), "" for the root.
    A ROLLOUT hop not started yet may be `waiting` (the rollout id holding its target: it starts once the
    target is free) or `superseded_by` a newer released bake of its image (which rolls instead).
    """

    key: str
    kind: HopKind
    subject: str  # the image (BAKE, ASK of a child) or the target (ROLLOUT, ASK of a target)
    ref: str = ""
    parent_ref: str = ""
    added_at: str = ""
    waiting: str = ""
    superseded_by: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", HopKind(self.kind))

    def to_doc(self) -> dict[str, Any]:
        return {**self.__dict__, "kind": self.kind.value}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Hop:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in doc.items() if k in known})


@dataclass(frozen=True)
class Train:
    """A release train, stored as one versioned document of kind TRAIN keyed by `train_id` (t-xxxxxx).

    `started_by` is the person who requested the root bake (four-eyes: they approve no hop), or BAKERY_USER
    for an automatic root (upstream), which excludes nobody.
    """

    train_id: str
    cause: Cause
    root_image: str
    channel: str
    started_by: str
    started_at: str
    hops: tuple[Hop, ...] = ()
    message_ts: str = ""
    finished_at: str = ""  # set when every hop is terminal and nothing more can follow
    settled: bool = False  # the message shows the end (the publisher's contract, as for bakes)
    notices: tuple[Any, ...] = ()  # the publisher's contract; trains post no thread notices today
    reply_ts: dict[str, str] = field(default_factory=dict)
    posting: dict[str, str] = field(default_factory=dict)  # Slack posts begun, not yet saved (bot.publishing)

    @property
    def terminal(self) -> bool:
        return bool(self.finished_at)

    def with_hop(self, hop: Hop) -> Train:
        """This train with one more hop; a hop whose key is already there is not added twice."""
        if any(h.key == hop.key for h in self.hops):
            return self
        return replace(self, hops=(*self.hops, hop))

    def hop(self, key: str) -> Hop | None:
        return next((h for h in self.hops if h.key == key), None)

    def to_doc(self) -> dict[str, Any]:
        doc = dict(self.__dict__)
        doc["cause"] = self.cause.to_doc()
        doc["hops"] = [h.to_doc() for h in self.hops]
        doc["notices"] = []
        doc["reply_ts"] = dict(self.reply_ts)
        doc["posting"] = dict(self.posting)
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Train:
        d = dict(doc)
        d["cause"] = Cause.from_doc(d["cause"])
        d["hops"] = tuple(Hop.from_doc(h) for h in d.get("hops") or ())
        d["notices"] = ()
        d["reply_ts"] = dict(d.get("reply_ts") or {})
        d["posting"] = dict(d.get("posting") or {})
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


def train_index(doc: dict[str, Any]) -> str | None:
    """Trains stay in the 'active' index until their message shows the end (restarts resume them)."""
    return None if doc.get("settled") else "active"
