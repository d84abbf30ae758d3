"""EC2 image look-ups: the AMIs a bake produced and what one AMI is, with AWS errors as ImageError."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.domain.errors import ImageError
from bot.domain.models import TAG_REQUEST_ID, Ami
from bot.domain.ports import ImageInfo

# Codes EC2 answers for an image id that does not exist or cannot exist; both mean "no such AMI".
_NO_SUCH_IMAGE = frozenset({"InvalidAMIID.NotFound", "InvalidAMIID.Malformed", "InvalidAMIID.Unavailable"})






class Ec2Images:
    """AMIs in one region, through a boto3 `ec2` client."""

    def __init__(self, client: Any):
        self._client = client
        self.region: str = client.meta.region_name

    def find_by_request(self, request_id: str) -> list[Ami]:
        """This account's available AMIs tagged bakery:request-id = request_id, oldest first."""
        filters = [
            {"Name": f"tag:{TAG_REQUEST_ID}", "Values": [request_id]},
            {"Name": "state", "Values": ["available"]},
        ]
        pages = self._client.get_paginator("describe_images").paginate(Owners=["self"], Filters=filters)
        try:
            # Pages are fetched lazily, so the calls (and their errors) happen here.
            images = [image for page in pages for image in page.get("Images", [])]
        except (ClientError, BotoCoreError) as exc:
            raise _image_error(exc, f"look up the AMIs of bake {request_id}") from exc
        images.sort(key=lambda image: (image.get("CreationDate", ""), image["ImageId"]))
        return [Ami(region=self.region, ami_id=i["ImageId"], account_id=i.get("OwnerId", "")) for i in images]

    def describe(self, ami_id: str) -> ImageInfo | None:
        """What EC2 knows of one AMI, or None when there is no such AMI."""
        return self._describe(ami_id, {})

    def describe_own(self, ami_id: str) -> ImageInfo | None:
        """The AMI if this account owns it (DescribeImages, Owners=['self']), else None: an AMI another account
        shares or made public is not this account's, whatever its tags say (§13)."""
        return self._describe(ami_id, {"Owners": ["self"]})

    def _describe(self, ami_id: str, owners: dict[str, list[str]]) -> ImageInfo | None:
        try:
            answer = self._client.describe_images(ImageIds=[ami_id], **owners)
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in _NO_SUCH_IMAGE:
                return None
            raise _image_error(exc, f"describe AMI {ami_id}") from exc
        images = answer.get("Images", [])
        # A recently deregistered AMI can come back as an empty list rather than NotFound.
        if not images:
            return None
        image = images[0]
        return ImageInfo(
            ami_id=image["ImageId"],
            state=image.get("State", ""),
            name=image.get("Name", ""),
            created=image.get("CreationDate", ""),
            region=self.region,
            account_id=image.get("OwnerId", ""),
            tags={t["Key"]: t.get("Value", "") for t in image.get("Tags", [])},
        )


def _image_error(exc: ClientError | BotoCoreError, doing: str) -> ImageError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "UnknownError")
        return ImageError(f"Could not {doing}: {error.get('Message') or code} ({code})")
    return ImageError(f"Could not {doing}: EC2 is unreachable ({exc})")
