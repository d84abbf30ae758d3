"""What `/bake revoke` did (§14), as facts; bot/slack/revoke_blocks.py words them for the channel."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.models import Ami
from bot.fleet.revocations import Revocation


@dataclass(frozen=True)
class LatestMoved:
    """`/bakery/images/<image>/latest` in one account and region named a revoked AMI: where it points now."""

    name: str
    region: str
    account_id: str
    was: str
    now: str  # "" when no released, unrevoked AMI is left there: the parameter was left as it was


@dataclass(frozen=True)
class StillOn:
    """A target that still runs a revoked AMI: in its launch template's default version, on instances, or both."""

    target: str
    region: str
    account_id: str
    default_ami: str  # the default version's AMI when it is revoked, else ""
    instances: tuple[tuple[str, int], ...]  # (revoked AMI, instances launched from it)
    good_ami: str  # the newest released, unrevoked AMI of the image there; "" when there is none
    button: str  # the `rollout_start` key rolling the target onto good_ami; "" when its bake is not known


@dataclass(frozen=True)
class Revoked:
    """A revocation, as asked now (`first`) or found done before (then only what was left undone was done)."""

    revocation: Revocation  # of the AMI asked for: who, when, why
    image: str
    amis: tuple[Ami, ...]  # every AMI of the bake (its copies in other regions too): all revoked together
    channel: str  # where it was asked: the answer is posted there
    first: bool  # False: it was revoked already
    tagged: tuple[str, ...] = ()  # AMIs tagged `bakery:revoked` now
    deprecated: tuple[str, ...] = ()  # AMIs deprecated now
    latest: tuple[LatestMoved, ...] = ()
    still_on: tuple[StillOn, ...] = ()
    problems: tuple[str, ...] = ()  # what AWS refused (EC2's or SSM's words); `/bake revoke` again retries it
    own_account: str = ""  # the bakery's account: its AMIs are shown by region alone (§13)

    @property
    def changed(self) -> bool:
        return self.first or bool(self.tagged or self.deprecated or any(m.now for m in self.latest))
