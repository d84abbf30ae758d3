"""The AmiLifecycle port (§14) through a boto3 `ec2` client: the bakery's AMIs of one account and region, what
uses them (bot/adapters/aws/ec2_references.py), their deprecation, tags and deregistration with their snapshots.
AWS errors are ImageError with EC2's own words, naming the AMI."""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.aws.aws_call import aws_call
from bot.adapters.aws.ec2_references import references
from bot.domain.errors import BakeryError, ImageError, ImageGone
from bot.domain.fleet_types import ImageReferences, OwnedAmi
from bot.domain.models import TAG_IMAGE

GIB = 2**30
SNAPSHOTS_PER_CALL = 200  # snapshot ids in one DescribeSnapshots filter (EC2 takes 200 values a filter)
# DeprecateAt may not be in the past when EC2 receives it: "now" is sent as the next whole minute at least this far
# ahead (EC2 rounds seconds to the nearest minute; a whole minute is kept as it is).
DEPRECATION_MARGIN = timedelta(seconds=5)
_NO_SUCH_IMAGE = frozenset({"InvalidAMIID.NotFound", "InvalidAMIID.Malformed", "InvalidAMIID.Unavailable"})
_GONE: dict[str, type[BakeryError]] = {code: ImageGone for code in _NO_SUCH_IMAGE}
# A snapshot already deleted, or still used by another AMI (which then keeps it, as DeleteAssociatedSnapshots
# "skips" it): nothing left to do for this AMI.
_SNAPSHOT_DONE = frozenset({"InvalidSnapshot.NotFound", "InvalidSnapshot.InUse"})
_DELETED = frozenset({"success", "skipped"})  # DeleteSnapshotResults' ReturnCode for a snapshot dealt with
# The clients (one account and region each) whose EC2 refused DeregisterImage's DeleteAssociatedSnapshots: later
# deregistrations there go straight to deleting the snapshots one by one. Weakly held, as ec2_references does.
_refusing: weakref.WeakSet[Any] = weakref.WeakSet()
_lock = threading.Lock()


class _SnapshotDone(ImageError):
    """The snapshot is gone already, or another AMI keeps it."""


class Ec2Lifecycle:
    """One account's AMIs in the client's region, as the fleet view, revocation and the sweep use them."""

    def __init__(self, client: Any, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._client = client
        self._clock = clock
        self.region: str = client.meta.region_name

    def _ec2(self, doing: str, operation: Callable[..., dict[str, Any]], **params: Any) -> dict[str, Any]:
        return aws_call(doing, operation, errors=_GONE, default=ImageError, service="EC2", **params)

    def bakery_amis(self) -> list[OwnedAmi]:
        """This account's own AMIs tagged bakery:image here, deprecated ones included, oldest first: one
        DescribeImages (every page) and one DescribeSnapshots per 200 of their snapshots."""
        pages = self._client.get_paginator("describe_images").paginate(
            Owners=["self"], Filters=[{"Name": "tag-key", "Values": [TAG_IMAGE]}], IncludeDeprecated=True
        )
        images = self._ec2(f"list the bakery's AMIs in {self.region}", partial(_all, pages)).get("Images", [])
        return self._owned(images)

    def owned(self, ami_id: str) -> OwnedAmi | None:
        """One AMI this account owns here, whatever its tags; None when it owns none by that id."""
        try:
            answer = self._ec2(
                f"describe AMI {ami_id} in {self.region}",
                self._client.describe_images,
                ImageIds=[ami_id],
                Owners=["self"],
            )
        except ImageGone:
            return None
        found = self._owned(answer.get("Images", []))
        return found[0] if found else None  # a recently deregistered AMI may answer an empty list

    def _owned(self, images: list[dict[str, Any]]) -> list[OwnedAmi]:
        images = sorted(images, key=lambda i: (i.get("CreationDate", ""), i["ImageId"]))
        full = self._full_sizes([s for image in images for s, _ in _snapshots(image)])
        return [self._ami(image, full) for image in images]

    def _ami(self, image: dict[str, Any], full: dict[str, int]) -> OwnedAmi:
        snapshots = _snapshots(image)
        # snapshot_gb is an upper bound of the storage the AMI's snapshots are billed for: EBS snapshots are
        # incremental, and no AWS read says what deleting one frees. DescribeSnapshots' FullSnapshotSizeInBytes
        # (the blocks written to the volume when the snapshot was taken) is the truer figure where AWS gives it;
        # the volume size is the bound where it does not (moto, older snapshots). In whole GiB, rounded up.
        size = sum(full.get(snapshot, volume_gib * GIB) for snapshot, volume_gib in snapshots)
        return OwnedAmi(
            ami_id=str(image["ImageId"]),
            name=str(image.get("Name", "")),
            state=str(image.get("State", "")),
            created=str(image.get("CreationDate", "")),
            region=self.region,
            account_id=str(image.get("OwnerId", "")),
            tags={t["Key"]: t.get("Value", "") for t in image.get("Tags", [])},
            snapshot_ids=tuple(snapshot for snapshot, _ in snapshots),
            snapshot_gb=math.ceil(size / GIB),
            deprecation_time=image.get("DeprecationTime") or None,
        )

    def _full_sizes(self, snapshot_ids: list[str]) -> dict[str, int]:
        """FullSnapshotSizeInBytes of those of the snapshots AWS reports it for, 200 snapshots a call."""
        sizes: dict[str, int] = {}
        ids = list(dict.fromkeys(snapshot_ids))
        for start in range(0, len(ids), SNAPSHOTS_PER_CALL):
            batch = ids[start : start + SNAPSHOTS_PER_CALL]
            # A filter, not SnapshotIds: a snapshot deleted meanwhile is left out instead of failing the call.
            pages = self._client.get_paginator("describe_snapshots").paginate(
                OwnerIds=["self"], Filters=[{"Name": "snapshot-id", "Values": batch}]
            )
            answer = self._ec2(f"read the sizes of the bakery's snapshots in {self.region}", partial(_all, pages))
            for snapshot in answer.get("Snapshots", []):
                if snapshot.get("FullSnapshotSizeInBytes") is not None:
                    sizes[str(snapshot["SnapshotId"])] = int(snapshot["FullSnapshotSizeInBytes"])
        return sizes

    def references(self, ami_ids: Sequence[str], *, launch_templates: Sequence[str] = ()) -> ImageReferences:
        return references(self._client, ami_ids, launch_templates)

    def deprecate(self, ami_id: str, at: datetime) -> None:
        """EnableImageDeprecation at `at`, sent as a whole minute: the next one (at least a few seconds ahead) when
        `at` is now or past, since EC2 refuses a time in the past; otherwise `at` rounded up to its minute."""
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        when = _minute_up(max(at.astimezone(UTC), self._clock().astimezone(UTC) + DEPRECATION_MARGIN))
        self._ec2(
            f"deprecate AMI {ami_id} in {self.region}",
            self._client.enable_image_deprecation,
            ImageId=ami_id,
            DeprecateAt=when,
        )

    def tag(self, ami_id: str, tags: dict[str, str]) -> None:
        """Add or overwrite `tags` on the AMI alone (CreateTags)."""
        if not tags:
            return
        self._ec2(
            f"tag AMI {ami_id} in {self.region}",
            self._client.create_tags,
            Resources=[ami_id],
            Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
        )

    def deregister(self, ami: OwnedAmi) -> None:
        """Deregister the AMI and delete its snapshots: with DeleteAssociatedSnapshots where botocore has it and
        EC2 takes it, else one by one after. An AMI already gone counts as deregistered; a refusal (deregistration
        protection, a missing permission) is ImageError naming the AMI with EC2's reason, and the AMI is kept."""
        left = list(ami.snapshot_ids)
        if self._offers_snapshot_option():
            try:
                answer = self._deregister(ami, DeleteAssociatedSnapshots=True)
            except _OptionRefused:
                with _lock:
                    _refusing.add(self._client)
            else:
                results = answer.get("DeleteSnapshotResults")
                if results:
                    left = [r["SnapshotId"] for r in results if r.get("ReturnCode") not in _DELETED]
                # No results (moto keeps the snapshots and says nothing of them): they are deleted below.
                self._delete_snapshots(ami, left)
                return
        self._deregister(ami)
        self._delete_snapshots(ami, left)

    def _offers_snapshot_option(self) -> bool:
        shape = self._client.meta.service_model.operation_model("DeregisterImage").input_shape
        with _lock:
            refused = self._client in _refusing
        return "DeleteAssociatedSnapshots" in shape.members and not refused

    def _deregister(self, ami: OwnedAmi, **option: Any) -> dict[str, Any]:
        where = f"{self.region}, account {ami.account_id}" if ami.account_id else self.region
        try:
            return self._client.deregister_image(ImageId=ami.ami_id, **option)  # type: ignore[no-any-return]
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = error.get("Code", "UnknownError"), error.get("Message", "")
            if code in _NO_SUCH_IMAGE - {"InvalidAMIID.Malformed"}:
                return {}  # deregistered already (a sweep retried after a crash): its snapshots may remain
            if option and _refuses_option(code, message):
                raise _OptionRefused(message) from exc
            raise ImageError(f"Could not deregister AMI {ami.ami_id} ({where}): {message or code} ({code})") from exc
        except BotoCoreError as exc:
            raise ImageError(f"Could not deregister AMI {ami.ami_id} ({where}): EC2 is unreachable ({exc})") from exc

    def _delete_snapshots(self, ami: OwnedAmi, snapshots: list[str]) -> None:
        problems: list[str] = []
        for snapshot in snapshots:
            try:
                aws_call(
                    f"delete snapshot {snapshot}",
                    self._client.delete_snapshot,
                    errors={code: _SnapshotDone for code in _SNAPSHOT_DONE},
                    default=ImageError,
                    service="EC2",
                    SnapshotId=snapshot,
                )
            except _SnapshotDone:
                continue
            except ImageError as exc:
                problems.append(str(exc))
        if problems:
            raise ImageError(
                f"AMI {ami.ami_id} ({self.region}) is deregistered, but not all its snapshots are deleted: "
                + "; ".join(problems)
            )


class _OptionRefused(ImageError):
    """EC2 does not take DeregisterImage's DeleteAssociatedSnapshots here."""


def _refuses_option(code: str, message: str) -> bool:
    return code == "UnknownParameter" or (
        code.startswith("InvalidParameter") and "DeleteAssociatedSnapshots" in message
    )


def _snapshots(image: dict[str, Any]) -> list[tuple[str, int]]:
    """(snapshot id, volume size in GiB) of each EBS mapping of the image."""
    return [
        (str(m["Ebs"]["SnapshotId"]), int(m["Ebs"].get("VolumeSize") or 0))
        for m in image.get("BlockDeviceMappings") or []
        if (m.get("Ebs") or {}).get("SnapshotId")
    ]


def _all(pages: Any) -> dict[str, list[Any]]:
    """Every page of a paginated read, merged (pages are fetched lazily: the calls and their errors happen here)."""
    merged: dict[str, list[Any]] = {}
    for page in pages:
        for key, value in page.items():
            if isinstance(value, list):
                merged.setdefault(key, []).extend(value)
    return merged


def _minute_up(at: datetime) -> datetime:
    whole = at.replace(second=0, microsecond=0)
    return whole if whole == at else whole + timedelta(minutes=1)
