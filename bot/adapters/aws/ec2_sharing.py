"""EC2 calls of a release's distribution (CONTRACT §13), in one region and account: CopyImage encrypted with the
region's bakery key, the copy's tags, and launch / create-volume permissions for other accounts.

AWS errors become ImageError (ImageGone for an AMI that does not exist) with EC2's own message, so the bake's
thread can say what AWS said: a key the account may not use, a CopyImage quota, a missing AMI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.adapters.aws.aws_call import aws_call
from bot.domain.errors import BakeryError, ImageError, ImageGone

_GONE: dict[str, type[BakeryError]] = {
    code: ImageGone for code in ("InvalidAMIID.NotFound", "InvalidAMIID.Malformed", "InvalidAMIID.Unavailable")
}


class Ec2Sharing:
    """Copies and shares AMIs in one region (the client's), as the account the client acts in."""

    def __init__(self, client: Any):
        self._client = client
        self.region: str = client.meta.region_name

    def _ec2(
        self, doing: str, operation: Callable[..., dict[str, Any]], *, gone: bool = True, **params: Any
    ) -> dict[str, Any]:
        """One EC2 call here, its errors in the adapter's words (`gone`: ImageGone for an AMI EC2 does not know)."""
        return aws_call(doing, operation, errors=_GONE if gone else {}, default=ImageError, service="EC2", **params)

    def copy(self, *, source_ami: str, source_region: str, name: str, kms_key_id: str, client_token: str) -> str:
        """Start copying `source_ami` of `source_region` here, encrypted with `kms_key_id`; the copy's AMI id.

        The same `client_token` asked again answers the copy made the first time (EC2's idempotency)."""
        answer = self._ec2(
            f"copy AMI {source_ami} from {source_region} to {self.region}",
            self._client.copy_image,
            SourceImageId=source_ami,
            SourceRegion=source_region,
            Name=name[:128],
            Description=f"Copied by the bakery from {source_ami} ({source_region})"[:255],
            Encrypted=True,
            KmsKeyId=kms_key_id,
            ClientToken=client_token,
            CopyImageTags=True,
        )
        return str(answer["ImageId"])

    def image(self, ami_id: str) -> dict[str, Any]:
        """EC2's description of one AMI here (ImageGone when there is none)."""
        answer = self._ec2(
            f"describe AMI {ami_id} in {self.region}",
            self._client.describe_images,
            ImageIds=[ami_id],
        )
        images = answer.get("Images") or []
        if not images:  # a recently deregistered AMI may answer an empty list rather than NotFound
            raise ImageGone(f"Could not describe AMI {ami_id} in {self.region}: there is no such AMI")
        return dict(images[0])

    def state(self, ami_id: str) -> tuple[str, str]:
        """The AMI's state (pending, available, failed …) and EC2's reason when it failed."""
        image = self.image(ami_id)
        return str(image.get("State", "")), str((image.get("StateReason") or {}).get("Message", ""))

    def tags(self, ami_id: str) -> dict[str, str]:
        return {t["Key"]: t.get("Value", "") for t in self.image(ami_id).get("Tags") or []}

    def tag(self, ami_id: str, tags: dict[str, str], *, snapshots: bool = False) -> None:
        """Put `tags` on the AMI, and on its EBS snapshots once it has them (CopyImage's CopyImageTags reaches the
        AMI alone): the bakery's roles share only what carries `bakery:image`. Writing them again changes nothing."""
        if not tags:
            return
        resources = [ami_id, *(self._snapshots(ami_id) if snapshots else ())]
        self._ec2(
            f"tag AMI {ami_id} in {self.region}",
            self._client.create_tags,
            Resources=resources,
            Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
        )

    def _snapshots(self, ami_id: str) -> tuple[str, ...]:
        return tuple(
            str(m["Ebs"]["SnapshotId"])
            for m in self.image(ami_id).get("BlockDeviceMappings") or []
            if (m.get("Ebs") or {}).get("SnapshotId")
        )

    def share(self, ami_id: str, accounts: tuple[str, ...]) -> tuple[str, ...]:
        """Let `accounts` launch the AMI and create volumes from its EBS snapshots; the snapshots' ids.

        Adding a permission an account already has changes nothing, so this may run again after a crash."""
        if not accounts:
            return ()
        users = [{"UserId": account} for account in accounts]
        self._ec2(
            f"share AMI {ami_id} in {self.region} with {', '.join(accounts)}",
            self._client.modify_image_attribute,
            ImageId=ami_id,
            LaunchPermission={"Add": users},
        )
        snapshots = self._snapshots(ami_id)
        for snapshot in snapshots:
            self._ec2(
                f"share snapshot {snapshot} of AMI {ami_id} in {self.region} with {', '.join(accounts)}",
                self._client.modify_snapshot_attribute,
                gone=False,
                SnapshotId=snapshot,
                Attribute="createVolumePermission",
                OperationType="add",
                UserIds=list(accounts),
            )
        return snapshots
