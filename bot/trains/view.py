"""A train as it stands: its record and the records of its hops (read by `TrainBook.view`); what the message
and `/bake status t-…` show, and whether nothing more can follow (the train is finished)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.bakes.record import Bake
from bot.rollouts.record import Rollout
from bot.trains.distribution_record import Distribution
from bot.trains.record import Hop, HopKind, Train

RELEASE = "release"  # as bot.trains.flow: a released bake whose consequences were all set moving


@dataclass(frozen=True)
class TrainView:
    train: Train
    bakes: dict[str, Bake] = field(default_factory=dict)
    rollouts: dict[str, Rollout] = field(default_factory=dict)  # the hops', and those their waiting hops wait for
    followed: frozenset[str] = frozenset()  # released bakes whose consequences were all set moving
    distributions: dict[str, Distribution] = field(default_factory=dict)  # by the released bake's request id

    def hop_done(self, hop: Hop) -> bool:
        if hop.kind == HopKind.ASK:
            return True  # a button waits for a person
        if not hop.ref:
            return not hop.waiting  # a line with no record opened nothing, unless it waits for its target
        if hop.kind == HopKind.DISTRIBUTION:
            dist = self.distributions.get(hop.ref)
            return dist is None or dist.terminal
        if hop.kind == HopKind.ROLLOUT:
            rollout = self.rollouts.get(hop.ref)
            return rollout is None or rollout.terminal
        bake = self.bakes.get(hop.ref)
        if bake is None:
            return True
        return bake.terminal and (not bake.released or hop.ref in self.followed)

    @property
    def finished(self) -> bool:
        return bool(self.train.hops) and all(self.hop_done(h) for h in self.train.hops)
