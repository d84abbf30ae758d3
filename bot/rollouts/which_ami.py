"""Which of a bake's AMIs a rollout uses: the one in the target's own region and account (§13).

A bake may hold AMIs in several regions and, once distributed, copies; a target runs in its region (its own
`region`, else its image's) and in its image's account (the image's `account_role`'s, else the bakery's). An
AMI that names no account is the image's own (bake results before accounts). An AMI of the region that names
another account is taken only when none names the target's: the account in a bake result is the build's word, and
the rollout looks the AMI up in the target's account before anything rolls (RolloutStart._check_ami). No AMI in the
region is a refusal that says where the bake does have AMIs, never a launch template pointed at an AMI it cannot
launch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.bakes.record import Bake
from bot.config import Config, TargetConfig
from bot.domain.errors import BadRequest
from bot.domain.models import Ami


def target_account(config: Config, target: TargetConfig) -> str:
    """The account the target runs in: its image's (§13); "" when that is the bakery's and the bakery's is unknown."""
    image = config.images[target.image]
    return image.account or config.bakery_account


def _in_account(ami: Ami, config: Config, target: TargetConfig) -> bool:
    if not ami.account_id:
        return True
    wanted = target_account(config, target)
    if wanted:
        return ami.account_id == wanted
    # The bakery's own account, unnamed by the configuration: any account that is not a member image's.
    return ami.account_id not in {i.account for i in config.images.values() if i.account}


def ami_for(amis: Iterable[Ami], config: Config, target: TargetConfig, region: str) -> Ami | None:
    here = [a for a in amis if a.region == region]
    return next((a for a in here if _in_account(a, config, target)), here[0] if here else None)


def places(amis: Iterable[Ami], account: str = "") -> str:
    """Where the AMIs are, each account named unless it is `account`: "eu-west-1, us-east-1 (210987654321)"."""
    seen = dict.fromkeys(a.region + (f" ({a.account_id})" if a.account_id not in ("", account) else "") for a in amis)
    return ", ".join(seen) or "nowhere"


def where_words(config: Config, target: TargetConfig, region: str) -> str:
    account = target_account(config, target)
    return f"{region} (account {account})" if config.images[target.image].account else region


def bake_ami(bake: Bake, config: Config, target: TargetConfig, region: str) -> Ami:
    """The bake's AMI for the target, or a refusal naming where the bake's AMIs are."""
    ami = ami_for(bake.amis, config, target, region)
    if ami is None:
        raise BadRequest(
            f"Bake `{bake.request_id}` made no AMI in {where_words(config, target, region)}, where `{target.name}`"
            f" runs; its AMIs are in {places(bake.amis, target_account(config, target))}."
        )
    return ami


def latest_ami(summary: Mapping[str, Any], config: Config, target: TargetConfig, region: str) -> str:
    """The image's latest AMI for the target (from the image's summary), or a refusal naming where it has some."""
    amis = [
        Ami(region=str(a.get("region", "")), ami_id=str(a["ami_id"]), account_id=str(a.get("account_id") or ""))
        for a in summary.get("amis") or []
    ]
    ami = ami_for(amis, config, target, region)
    if ami is not None:
        return ami.ami_id
    had = f"; its latest bake's AMIs are in {places(amis, target_account(config, target))}" if amis else ""
    raise BadRequest(
        f"No AMI of *{target.image}* in {where_words(config, target, region)} is known yet{had}: bake one with"
        f" `/bake {target.image}`, or name the AMI: `/bake rollout {target.name} ami-…`."
    )
