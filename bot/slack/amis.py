"""Where a bake's AMIs are, in words (§13): each AMI with its region, and its account when that is not the
bakery's own, e.g. `ami-0a1…` (eu-west-1), `ami-0b2…` (us-east-1, 210987654321). A bake may hold one AMI per
region and, once distributed, its copies; a long list names how many more there are rather than growing a
line past Slack's limits."""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.models import Ami

SHOWN = 6  # AMIs named on one line; the rest are counted


def ami_place(ami: Ami, own_account: str = "", *, code: bool = True) -> str:
    """One AMI and where it is: its region, and its account unless that is `own_account` (the bakery's)."""
    where = ami.region
    if ami.account_id and ami.account_id != own_account:
        where += f", {ami.account_id}"
    name = f"`{ami.ami_id}`" if code else ami.ami_id
    return f"{name} ({where})" if where else name


def amis_words(amis: Iterable[Ami], own_account: str = "", *, shown: int = SHOWN, code: bool = True) -> str:
    """The AMIs on one line, comma-separated, at most `shown` by name."""
    places = [ami_place(a, own_account, code=code) for a in amis]
    if len(places) <= shown:
        return ", ".join(places)
    return ", ".join(places[:shown]) + f" and {len(places) - shown} more"
