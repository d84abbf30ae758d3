"""AMI deprecation (remembered here, shown in moto's DescribeImages answers) and deregistration with snapshots."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET  # noqa: N817 - the stdlib's own short name
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from bot.sandbox.aws.fake_ec2.protocol import Answer, Ec2Error, as_list, flag, iso, parse_time

if TYPE_CHECKING:
    from bot.sandbox.aws.fake_ec2.server import FakeEc2, Forward, Where

TEN_YEARS = 10 * 365.25 * 86400  # DeprecateAt's upper limit for a private AMI


def enable_deprecation(fake: FakeEc2, params: dict[str, Any], where: Where) -> dict[str, Any]:
    image_id = _required(params, "ImageId")
    at = parse_time(_required(params, "DeprecateAt"), "DeprecateAt")
    now = fake.clock()
    if at < now:
        raise Ec2Error("InvalidParameterValue", f"The deprecation time {iso(at)} is in the past.")
    if at > now + TEN_YEARS:
        raise Ec2Error("InvalidParameterValue", f"The deprecation time {iso(at)} is more than 10 years from now.")
    _own(fake, where, image_id)
    fake.set_deprecation(where, image_id, math.floor(at / 60 + 0.5) * 60.0)  # AWS rounds to the nearest minute
    return {"return": True}


def disable_deprecation(fake: FakeEc2, params: dict[str, Any], where: Where) -> dict[str, Any]:
    image_id = _required(params, "ImageId")
    _own(fake, where, image_id)
    fake.set_deprecation(where, image_id, None)
    return {"return": True}


def describe(fake: FakeEc2, params: dict[str, Any], where: Where, forward: Forward) -> Answer:
    """moto's DescribeImages answer with each image's `deprecationTime`, and without the deprecated AMIs AWS hides:
    another account's, unless the caller named them (ImageId.N) or asked for them (IncludeDeprecated)."""
    answer = forward()
    account, region = where
    if answer.status != 200 or not fake.deprecates_in(region):
        return answer  # nothing to add: moto's bytes as they are
    root = ET.fromstring(answer.body)  # noqa: S314 - moto's own answer, on loopback
    ns = root.tag[1 : root.tag.index("}")] if root.tag.startswith("{") else ""
    q = f"{{{ns}}}" if ns else ""
    listed = root.find(f"{q}imagesSet")
    if listed is None:
        return answer
    hidden_if_deprecated = not as_list(params.get("ImageId")) and not flag(params, "IncludeDeprecated")
    now = fake.clock()
    for item in list(listed):
        owner, image_id = item.findtext(f"{q}imageOwnerId") or "", item.findtext(f"{q}imageId") or ""
        at = fake.deprecation(owner, region, image_id)
        if at is None:
            continue
        if at <= now and owner != account and hidden_if_deprecated:
            listed.remove(item)
            continue
        ET.SubElement(item, f"{q}deprecationTime").text = iso(at)
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=ns or None)
    return Answer(answer.status, answer.headers, body)


def deregister(fake: FakeEc2, params: dict[str, Any], where: Where, forward: Forward) -> dict[str, Any] | Answer:
    """moto deregisters; with DeleteAssociatedSnapshots the image's EBS snapshots are then deleted here (moto
    keeps them), each with its return code, as AWS answers."""
    image_id = _required(params, "ImageId")
    if not flag(params, "DeleteAssociatedSnapshots"):
        answer = forward()
        if answer.status == 200:
            fake.set_deprecation(where, image_id, None)
        return answer
    if not fake.delete_snapshots_supported:
        raise Ec2Error("UnknownParameter", "The parameter DeleteAssociatedSnapshots is not recognized")
    snapshots = _snapshots(fake, where, image_id)  # read before: once deregistered, moto no longer describes it
    answer = forward()
    if answer.status != 200:
        return answer  # moto's own error (InvalidAMIID.NotFound, .Unavailable…), unchanged
    fake.set_deprecation(where, image_id, None)
    results = [{"snapshotId": s, "returnCode": _delete_snapshot(fake, where, s)} for s in snapshots]
    return {"return": True, "deleteSnapshotResultSet": results}


def _snapshots(fake: FakeEc2, where: Where, image_id: str) -> list[str]:
    try:
        found = fake.moto("ec2", where).describe_images(ImageIds=[image_id])["Images"]
    except ClientError:
        return []  # moto answers the deregistration with the same error
    return [
        str(m["Ebs"]["SnapshotId"])
        for image in found
        for m in image.get("BlockDeviceMappings", [])
        if m.get("Ebs", {}).get("SnapshotId")
    ]


def _delete_snapshot(fake: FakeEc2, where: Where, snapshot_id: str) -> str:
    try:
        fake.moto("ec2", where).delete_snapshot(SnapshotId=snapshot_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        return "skipped" if code == "InvalidSnapshot.InUse" else "client-error"
    except Exception:  # noqa: BLE001 - reported per snapshot, as AWS does, rather than failing the deregistration
        return "internal-error"
    return "success"


def _own(fake: FakeEc2, where: Where, image_id: str) -> None:
    """Refuses an image the caller does not own (or that does not exist), with moto's or EC2's error."""
    try:
        found = fake.moto("ec2", where).describe_images(ImageIds=[image_id])["Images"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise Ec2Error(error.get("Code", "InvalidAMIID.NotFound"), error.get("Message", image_id)) from None
    if not found:
        raise Ec2Error("InvalidAMIID.NotFound", f"The image id '[{image_id}]' does not exist")
    if found[0].get("OwnerId") != where[0]:
        raise Ec2Error("AuthFailure", f"Not authorized for image:{image_id}", 403)


def _required(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if not value or not isinstance(value, str):
        raise Ec2Error("MissingParameter", f"The request must contain the parameter {name}")
    return value
