"""The sandbox's second account (CONTRACT §9, §13): the role the bot assumes there, and AMIs across accounts.

moto keeps every account apart (its multi-account support): a request acts in the account its access key belongs
to (an assumed role's keys: the role's account) or that its `x-moto-account-id` header names. The bot reaches the
member account as on AWS, by sts:AssumeRole on the role seeded here, with the external id its trust policy asks
for; the sandbox's own stand-ins of what runs in that account (its pipeline's stages, the seed) name the account
with the header (`AccountSession`). An AMI of one account is launchable in another only once its owner granted it
(launch permission), as on AWS: `launch_refusal` is what a build in the other account would be told.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError

from bot.sandbox.aws.wire import AccountSession

log = logging.getLogger(__name__)


def session_in(session: Any, account: str, bakery_account: str) -> Any:
    """Clients acting in `account`: the session itself in the bakery's own account, else moto's account header."""
    return session if account == bakery_account else AccountSession(session, account)


def trust_policy(bakery_account: str, external_id: str) -> dict[str, Any]:
    """Who may assume the member role: the bakery's account, with the external id when there is one (as
    infra/cloudformation/member-account.yaml writes it)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{bakery_account}:root"},
        "Action": "sts:AssumeRole",
    }
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def seed_member_role(session: Any, account: str, role_name: str, *, bakery_account: str, external_id: str) -> str:
    """The role the bot assumes in `account`, made in that account; returns its ARN."""
    iam = AccountSession(session, account).client("iam")
    role = iam.create_role(
        RoleName=role_name,
        AssumeRolePolicyDocument=json.dumps(trust_policy(bakery_account, external_id)),
        Description="The role ami-bakery assumes in this account (the sandbox's member account)",
        Tags=[{"Key": "bakery:sandbox", "Value": "member-account"}],
    )["Role"]
    log.info("sandbox.member_role account=%s role=%s", account, role["Arn"])
    return str(role["Arn"])


def share_launch(ec2: Any, ami_id: str, account: str) -> None:
    """Let `account` launch `ami_id` (`ec2` is a client of the AMI's owner), as a released AMI's distribution does."""
    ec2.modify_image_attribute(ImageId=ami_id, LaunchPermission={"Add": [{"UserId": account}]})


def launch_refusal(
    ami_id: str, region: str, account: str, *, owners: Iterable[str], clients: Callable[[str], Any]
) -> str | None:
    """Why a build acting in `account` may not launch `ami_id` (the error AWS answers), or None when it may: the
    AMI is its own, or one of `owners` (the other accounts, each reached with `clients(account)`, an EC2 client
    there) owns it and granted `account` (or everyone) its launch permission."""
    try:
        clients(account).describe_images(ImageIds=[ami_id])
        return None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        refusal = f"{error.get('Code', 'InvalidAMIID.NotFound')}: {error.get('Message', '')}".rstrip(": ")
    for owner in owners:
        if owner == account:
            continue
        try:
            granted = clients(owner).describe_image_attribute(ImageId=ami_id, Attribute="launchPermission")
        except ClientError:
            continue  # not that account's AMI
        permissions = granted.get("LaunchPermissions") or []
        if any(p.get("UserId") == account or p.get("Group") == "all" for p in permissions):
            return None
        log.info("sandbox.ami_not_shared ami_id=%s owner=%s account=%s region=%s", ami_id, owner, account, region)
        break
    return refusal
