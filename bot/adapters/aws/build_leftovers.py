"""EC2 resources tagged bakery:build in one region, for the leak sweep (bot/runtime/leak_sweep.py).

Every listing filters on the tag key server-side and checks it again here, so a resource without the tag is
never returned, whatever the filter did. The bot's task role may terminate and delete only resources carrying
the tag (infra/cloudformation/bot-role.yaml, condition on aws:ResourceTag/bakery:build).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.aws.aws_call import aws_call
from bot.domain.leftovers import TAG_BUILD, BuildInstance, BuildKeyPair, BuildSecurityGroup, LeftoverError

_TAGGED = [{"Name": "tag-key", "Values": [TAG_BUILD]}]
_GONE_KEY = {"InvalidKeyPair.NotFound"}
_GONE_GROUP = {"InvalidGroup.NotFound", "InvalidGroupId.NotFound"}


class Ec2BuildLeftovers:
    """The bakery:build-tagged instances, key pairs and security groups of one region (a boto3 `ec2` client)."""

    def __init__(self, client: Any):
        self._client = client
        self.region: str = client.meta.region_name

    def instances(self) -> list[BuildInstance]:
        pages = self._client.get_paginator("describe_instances").paginate(Filters=_TAGGED)
        found = []
        for reservation in self._pages(pages, "Reservations", "list the build instances"):
            for item in reservation.get("Instances", []):
                build = _build_tag(item)
                if build is not None:
                    found.append(BuildInstance(item["InstanceId"], build, item["LaunchTime"], item["State"]["Name"]))
        return found

    def key_pairs(self) -> list[BuildKeyPair]:
        answer = self._call("list the build key pairs", self._client.describe_key_pairs, Filters=_TAGGED)
        found = []
        for key in answer.get("KeyPairs", []):
            build = _build_tag(key)
            if build is not None:
                found.append(BuildKeyPair(key["KeyPairId"], key["KeyName"], build, key["CreateTime"]))
        return found

    def security_groups(self) -> list[BuildSecurityGroup]:
        pages = self._client.get_paginator("describe_security_groups").paginate(Filters=_TAGGED)
        found = []
        for group in self._pages(pages, "SecurityGroups", "list the build security groups"):
            build = _build_tag(group)
            if build is not None:
                found.append(BuildSecurityGroup(group["GroupId"], group.get("GroupName", ""), build))
        return found

    def terminate(self, instance_ids: list[str]) -> None:
        self._call("terminate leftover build instances", self._client.terminate_instances, InstanceIds=instance_ids)

    def delete_key_pair(self, name: str) -> None:
        # By name: a key pair's ARN (what IAM authorises) is key-pair/<name>, and moto 5.2 ignores KeyPairId.
        try:
            self._client.delete_key_pair(KeyName=name)
        except ClientError as exc:
            if _code(exc) not in _GONE_KEY:
                raise _error(exc, f"delete key pair {name}") from exc
        except BotoCoreError as exc:
            raise _error(exc, f"delete key pair {name}") from exc

    def delete_security_group(self, group_id: str) -> bool:
        try:
            self._client.delete_security_group(GroupId=group_id)
        except ClientError as exc:
            if _code(exc) == "DependencyViolation":
                return False
            if _code(exc) not in _GONE_GROUP:
                raise _error(exc, f"delete security group {group_id}") from exc
        except BotoCoreError as exc:
            raise _error(exc, f"delete security group {group_id}") from exc
        return True

    def _call(self, doing: str, operation: Any, **params: Any) -> dict[str, Any]:
        return aws_call(doing, operation, errors={}, default=LeftoverError, service="EC2", **params)

    @staticmethod
    def _pages(pages: Any, key: str, doing: str) -> Iterator[dict[str, Any]]:
        try:
            # Pages are fetched lazily, so the calls (and their errors) happen here.
            items = [item for page in pages for item in page.get(key, [])]
        except (ClientError, BotoCoreError) as exc:
            raise _error(exc, doing) from exc
        yield from items


def _build_tag(resource: dict[str, Any]) -> str | None:
    for tag in resource.get("Tags", []):
        if tag.get("Key") == TAG_BUILD:
            return str(tag.get("Value", ""))
    return None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _error(exc: ClientError | BotoCoreError, doing: str) -> LeftoverError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "UnknownError")
        return LeftoverError(f"Could not {doing}: {error.get('Message') or code} ({code})")
    return LeftoverError(f"Could not {doing}: EC2 is unreachable ({exc})")
