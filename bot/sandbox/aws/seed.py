"""Seeds the sandbox's local AWS and image repositories from the configuration, as `infra/` would on AWS.

AWS (moto): the events topic with the queue subscribed to it, an upstream AMI that every image's
`/bakery/images/<image>/latest` parameter starts at, and a launch template and Auto Scaling group per target.
Repositories (FakeCodeCommit): one per image, whose first commit holds the project's Packer files for that
image and its buildspecs, whatever layout `packer/` has when the sandbox starts (`packer/<image>/` or
`packer/images/<image>/`, plus shared files).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from bot.config import Config
from bot.sandbox.aws.fake_codecommit import FakeCodeCommit

log = logging.getLogger(__name__)

QUEUE_NAME = "ami-bakery-events"
TOPIC_NAME = "ami-bakery-events"
UPSTREAM_AMI_NAME = "al2023-ami-sandbox-upstream-x86_64"
# Where a build without a parent or a pinned AMI finds its source AMI (buildspec.yml's SOURCE_AMI_PARAMETER);
# moto answers this public parameter itself, and refuses to have it written.
DEFAULT_SOURCE_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
LATEST_PARAMETER = "/bakery/images/{image}/latest"
INSTANCES_PER_GROUP = 4
# Only these are copied: a seeded repository holds sources, never build output or editor litter.
_SKIP_PARTS = frozenset({".terraform", "packer_cache", "__pycache__", ".git"})
_MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class Events:
    """The sandbox's notification plumbing: the topic the pipeline publishes to, the queue the bot reads."""

    topic_arn: str
    queue_url: str


def seed_events(session: Any, region: str) -> Events:
    """Topic -> SQS subscription (enveloped, as the bakery's infra subscribes it)."""
    sqs = session.client("sqs", region_name=region)
    sns = session.client("sns", region_name=region)
    queue_url = sqs.create_queue(QueueName=QUEUE_NAME, Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return Events(topic_arn=topic_arn, queue_url=queue_url)


def register_ami(ec2: Any, name: str, tags: dict[str, str]) -> str:
    """An available AMI in moto with these tags (moto drops TagSpecifications on RegisterImage)."""
    ami_id = ec2.register_image(
        Name=name,
        Architecture="x86_64",
        RootDeviceName="/dev/xvda",
        VirtualizationType="hvm",
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8, "VolumeType": "gp3"}}],
    )["ImageId"]
    ec2.create_tags(Resources=[ami_id], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    return cast("str", ami_id)  # boto3 answers are untyped


def seed_fleet(session: Any, config: Config, default_region: str) -> dict[str, str]:
    """The upstream AMI per region, the SSM parameters, and each target's launch template and group.

    Returns {region: upstream AMI id}.
    """
    upstream: dict[str, str] = {}

    def ami_in(region: str) -> str:
        if region not in upstream:
            ec2 = session.client("ec2", region_name=region)
            upstream[region] = register_ami(
                ec2, UPSTREAM_AMI_NAME, {"Name": UPSTREAM_AMI_NAME, "bakery:upstream": "true"}
            )
        return upstream[region]

    # Every image starts out "released" as the upstream AMI, as if installed from it: the fleet runs it, and
    # an image with a parent can be baked before its parent was (its build reads the parent's parameter).
    for image in config.images.values():
        region = image.region or default_region
        ssm = session.client("ssm", region_name=region)
        ssm.put_parameter(
            Name=LATEST_PARAMETER.format(image=image.name), Value=ami_in(region), Type="String", Overwrite=True
        )
    for target in config.targets.values():
        image = config.images[target.image]
        region = target.region or image.region or default_region
        ec2 = session.client("ec2", region_name=region)
        template = ec2.create_launch_template(
            LaunchTemplateName=target.launch_template,
            LaunchTemplateData={"ImageId": ami_in(region), "InstanceType": "t3.micro"},
        )["LaunchTemplate"]
        zone = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
        session.client("autoscaling", region_name=region).create_auto_scaling_group(
            AutoScalingGroupName=target.auto_scaling_group,
            LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": "1"},
            MinSize=INSTANCES_PER_GROUP,
            MaxSize=INSTANCES_PER_GROUP * 2,
            DesiredCapacity=INSTANCES_PER_GROUP,
            AvailabilityZones=[zone],
        )
    return upstream


def image_files(project_root: Path, image: str, all_images: set[str]) -> dict[str, bytes]:
    """What an image's repository starts with: its Packer directory, shared Packer files, the buildspec.

    Paths stay as they are in the project, so a buildspec written for the project finds them.
    """
    files: dict[str, bytes] = {}
    packer = project_root / "packer"
    others = all_images - {image}
    if packer.is_dir():
        for path in sorted(packer.rglob("*")):
            rel = path.relative_to(project_root)
            parts = rel.parts
            if not path.is_file() or _SKIP_PARTS & set(parts) or path.stat().st_size > _MAX_FILE_BYTES:
                continue
            # packer/<other>/… and packer/images/<other>/… belong to the other images' repositories.
            if (len(parts) > 2 and parts[1] in others) or (
                len(parts) > 3 and parts[1] == "images" and parts[2] in others
            ):
                continue
            files[rel.as_posix()] = path.read_bytes()
    for buildspec in sorted(project_root.glob("buildspec*.yml")):  # one per CodeBuild stage
        files[buildspec.name] = buildspec.read_bytes()
    has_templates = any(name.startswith("packer/") for name in files)
    if not has_templates:
        files["README.md"] = (
            f"# {image} image (sandbox placeholder)\n\n"
            "The project had no Packer files for this image when the sandbox started, so the pipeline's\n"
            "Validate stage has nothing to check. Add `packer/images/<image>/` to the project and restart.\n"
        ).encode()
    return files


def seed_repository(codecommit: FakeCodeCommit, name: str, branch: str, files: dict[str, bytes], *, image: str) -> str:
    """Create the repository and its first commit on `branch`; returns the commit id."""
    codecommit.create_repository({"repositoryName": name, "repositoryDescription": f"The {image} image"})
    answer = codecommit.create_commit(
        {
            "repositoryName": name,
            "branchName": branch,
            "authorName": "bakery sandbox",
            "email": "sandbox@bakery.invalid",
            "commitMessage": f"{image}: the image's Packer sources (seeded by the sandbox)\n",
            "putFiles": [
                {"filePath": path, "fileContent": base64.b64encode(content).decode(), "fileMode": "NORMAL"}
                for path, content in files.items()
            ],
        }
    )
    log.info("sandbox.repository_seeded repository=%s commit=%s files=%d", name, answer["commitId"][:8], len(files))
    return str(answer["commitId"])
