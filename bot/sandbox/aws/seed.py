"""Seeds the sandbox's local AWS and image repositories from the configuration, as `infra/` would on AWS.

AWS (moto): the events topic with the queue subscribed to it, an upstream AMI that the bakery's own images'
`/bakery/images/<image>/latest` parameters start at (an image in the member account starts on an AMI of its own
there), and a launch template and Auto Scaling group per target, in its image's account.
Repositories (FakeCodeCommit): one per image, whose first commit holds the project's Packer files for that
image and its buildspecs, whatever layout `packer/` has when the sandbox starts (`packer/<image>/` or
`packer/images/<image>/`, plus shared files).
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from bot.config import Config, ImageConfig
from bot.domain.models import TAG_IMAGE, TAG_PARENT_AMI, TAG_RELEASED, Ami
from bot.sandbox.aws.accounts import session_in, share_launch
from bot.sandbox.aws.fake_codecommit.repositories import CodeCommitRepositories

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
    """The sandbox's notification plumbing: the topic the pipeline publishes to, the queue the bot reads, and
    the queue's dead-letter queue when it has one."""

    topic_arn: str
    queue_url: str
    dead_letter_url: str = ""


def seed_events(session: Any, region: str, *, visibility_timeout: int = 30, max_receives: int = 0) -> Events:
    """Topic -> SQS subscription (enveloped, as the bakery's infra subscribes it). With `max_receives`, the queue
    moves a message received that many times without being deleted to `<queue>-dlq` (its redrive policy)."""
    sqs = session.client("sqs", region_name=region)
    sns = session.client("sns", region_name=region)
    attributes = {"VisibilityTimeout": str(visibility_timeout)}
    dead_letter_url = ""
    if max_receives:
        dead_letter_url = sqs.create_queue(QueueName=f"{QUEUE_NAME}-dlq")["QueueUrl"]
        dead_letter_arn = _queue_arn(sqs, dead_letter_url)
        redrive = {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": max_receives}
        attributes["RedrivePolicy"] = json.dumps(redrive)
    queue_url = sqs.create_queue(QueueName=QUEUE_NAME, Attributes=attributes)["QueueUrl"]
    topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=_queue_arn(sqs, queue_url))
    return Events(topic_arn=topic_arn, queue_url=queue_url, dead_letter_url=dead_letter_url)


def _queue_arn(sqs: Any, queue_url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


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


@dataclass(frozen=True)
class Seeded:
    """What the fleet was seeded with: the upstream AMI per region (the bakery's account), and per image the AMI
    its released bake made, in the image's account and region."""

    upstream: dict[str, str]
    images: dict[str, Ami]


def _by_depth(config: Config) -> list[ImageConfig]:
    """Parents before their children."""

    def depth(image: ImageConfig) -> int:
        parent = config.images.get(image.parent or "")
        return 1 + depth(parent) if parent else 0

    return sorted(config.images.values(), key=depth)


def seed_fleet(session: Any, config: Config, default_region: str, *, bakery_account: str) -> Seeded:
    """The upstream AMI per region, each image's released AMI and SSM parameter, each target's launch template and
    group, each in its image's account (§13)."""
    upstream: dict[str, str] = {}
    seeded: dict[tuple[str, str], Ami] = {}
    clients: dict[tuple[str, str, str], Any] = {}

    def client(service: str, account: str, region: str) -> Any:
        """One client per service, account and region (each takes some 50 ms to make; start time counts)."""
        if (service, account, region) not in clients:
            clients[(service, account, region)] = session_in(session, account, bakery_account).client(
                service, region_name=region
            )
        return clients[(service, account, region)]

    def ami_in(region: str) -> str:
        if region not in upstream:
            ec2 = client("ec2", bakery_account, region)
            upstream[region] = register_ami(
                ec2, UPSTREAM_AMI_NAME, {"Name": UPSTREAM_AMI_NAME, "bakery:upstream": "true"}
            )
        return upstream[region]

    def image_ami(image: ImageConfig, region: str) -> Ami:
        """An image of the bakery's own account starts out "released" as the upstream AMI, as if installed from
        it, so the fleet runs it and a child can be baked before its parent was. One in another account starts
        on an AMI of its own there, baked on its parent's, which its parent's account shared with it."""
        if (image.name, region) in seeded:
            return seeded[(image.name, region)]
        account = image.account or bakery_account
        if not image.account:
            ami = Ami(region=region, ami_id=ami_in(region), account_id=account)
        else:
            parent = config.images.get(image.parent or "")
            source = image_ami(parent, region) if parent else Ami(region, ami_in(region), bakery_account)
            if source.account_id != account:  # as the parent's distribution would have on its release
                share_launch(client("ec2", source.account_id, region), source.ami_id, account)
            name = f"{image.name}-sandbox-seed"
            tags = {"Name": name, TAG_IMAGE: image.name, TAG_RELEASED: "true", TAG_PARENT_AMI: source.ami_id}
            made = register_ami(client("ec2", account, region), name, tags)
            ami = Ami(region=region, ami_id=made, account_id=account)
        seeded[(image.name, region)] = ami
        return ami

    for image in _by_depth(config):
        region = image.region or default_region
        ami = image_ami(image, region)
        client("ssm", ami.account_id, region).put_parameter(
            Name=LATEST_PARAMETER.format(image=image.name),
            Value=ami.ami_id,
            Type="String",
            DataType="aws:ec2:image",  # as Publish writes it (buildspec-publish.yml)
            Overwrite=True,
        )
    for target in config.targets.values():
        image = config.images[target.image]
        region = target.region or image.region or default_region
        ami = image_ami(image, region)
        ec2 = client("ec2", ami.account_id, region)
        template = ec2.create_launch_template(
            LaunchTemplateName=target.launch_template,
            LaunchTemplateData={"ImageId": ami.ami_id, "InstanceType": "t3.micro"},
        )["LaunchTemplate"]
        zone = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
        client("autoscaling", ami.account_id, region).create_auto_scaling_group(
            AutoScalingGroupName=target.auto_scaling_group,
            LaunchTemplate={"LaunchTemplateId": template["LaunchTemplateId"], "Version": "1"},
            MinSize=INSTANCES_PER_GROUP,
            MaxSize=INSTANCES_PER_GROUP * 2,
            DesiredCapacity=INSTANCES_PER_GROUP,
            AvailabilityZones=[zone],
        )
    homes = {i.name: seeded[(i.name, i.region or default_region)] for i in config.images.values()}
    return Seeded(upstream=upstream, images=homes)


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


def seed_repository(
    codecommit: CodeCommitRepositories, name: str, branch: str, files: dict[str, bytes], *, image: str
) -> str:
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
