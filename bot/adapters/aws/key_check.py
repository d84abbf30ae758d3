"""`bakery check --aws` for an image with `share_with` (§13): the bakery key in each region its AMIs must be usable
in, in the image's account, and whether its key policy lets every listed account launch from them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.aws.assumed import AssumeRoleRefused
from bot.adapters.aws.key_policy import shortfalls
from bot.config import ImageConfig


def check_keys(
    image: ImageConfig, alias: str, kms_in: Callable[[str], Any], default_region: str | None, *, in_bakery: bool
) -> list[str]:
    """One line per region without the key and per listed account its policy does not grant, with key paths.

    kms_in(region): a KMS client, in that region, of the account whose key the image's copies are encrypted with:
    the bakery's (in_bakery), else the image's (through its role, §13). A member image's own account copies with
    the bakery's key, so its policy must grant that account too (named on `images.<name>.account_role`).
    """
    share = image.share_with
    if share is None:
        return []
    name = image.name
    own_region = image.region or default_region
    regions: dict[str, str] = {}  # region -> the key path that names it
    if own_region:
        regions[own_region] = f"images.{name}.region" if image.region else f"images.{name}"
    for i, region in enumerate(share.regions):
        regions.setdefault(region, f"images.{name}.share_with.regions[{i}]")
    problems: list[str] = []
    for region, path in regions.items():
        kms = kms_in(region)
        try:
            meta = kms.describe_key(KeyId=alias)["KeyMetadata"]
            if not meta.get("Enabled", True):
                problems.append(f"{path}: the bakery key {alias} in {region} is {meta.get('KeyState', 'disabled')}")
            policy = json.loads(kms.get_key_policy(KeyId=meta["Arn"], PolicyName="default")["Policy"])
        except ClientError as exc:
            err = exc.response.get("Error", {})
            if err.get("Code") == "NotFoundException":
                where = f"account {image.account}" if image.account and not in_bakery else "the bakery's account"
                problems.append(f"{path}: no bakery key {alias} in {region} ({where})")
            else:
                problems.append(f"{path}: bakery key {alias} in {region}: {err.get('Code')} ({err.get('Message', '')})")
            continue
        except (BotoCoreError, ValueError, AssumeRoleRefused) as exc:
            problems.append(f"{path}: bakery key {alias} in {region}: {exc}")
            continue
        owner = str(meta.get("AWSAccountId", ""))
        listed = [(f"images.{name}.share_with.accounts[{i}]", a) for i, a in enumerate(share.accounts)]
        if image.account and in_bakery:
            listed.insert(0, (f"images.{name}.account_role", image.account))
        for key_path, account in listed:
            if account == owner:
                continue  # the key's own account: its IAM policies decide (ami-key.yaml's first statement)
            missing = shortfalls(policy, account, str(meta["Arn"]))
            if missing:
                problems.append(
                    f"{key_path}: the bakery key {alias} in {region} does not grant {account}: {'; '.join(missing)}"
                )
    return problems
