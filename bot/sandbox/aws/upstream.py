"""The sandbox's upstream (CONTRACT §9, §12): a stand-in of Amazon's AMI releases, and the bakes released before.

Amazon publishes a new Amazon Linux AMI by moving a public SSM parameter and notifying a topic. moto refuses to
have `/aws/…` parameters written (as AWS does), so the sandbox's stand-in parameter lives under `/sandbox/` and its
topic in moto's own account; the sandbox's configuration points `upstream.ssm_parameter` and
`notifications.upstream_topic_arns` at them. `UpstreamReleases.release` is what `POST /api/upstream` and the
page's button do. At start every image has one released bake, made from its seeded AMI on the parameter's value,
so that nothing bakes by itself and the first release sets the whole train moving.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.bakes.images import note_recent, record_latest
from bot.bakes.record import BAKE, Bake, BakeStatus, bake_index
from bot.config import Config
from bot.domain.causes import BAKERY_USER
from bot.domain.ids import random_id
from bot.domain.models import TAG_COMMIT, TAG_REQUEST_ID, TAG_REQUESTED_BY
from bot.sandbox.aws.accounts import session_in
from bot.sandbox.aws.seed import UPSTREAM_AMI_NAME, Seeded, register_ami
from bot.state import open_store

log = logging.getLogger(__name__)

UPSTREAM_TOPIC_NAME = "amazon-linux-2023-ami-updates"  # Amazon's topic's name, in moto's account
UPSTREAM_PARAMETER = "/sandbox/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
SEEDED_REASON = "the sandbox's starting point: released before the sandbox started"


def seed_upstream_topic(session: Any, region: str, queue_url: str) -> str:
    """The stand-in upstream topic, with the bakery's queue subscribed (enveloped, as infra subscribes it)."""
    sqs = session.client("sqs", region_name=region)
    sns = session.client("sns", region_name=region)
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic_arn = str(sns.create_topic(Name=UPSTREAM_TOPIC_NAME)["TopicArn"])
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn


def seed_train(
    session: Any, config: Config, state_path: Path, seeded: Seeded, commits: dict[str, str], region: str
) -> None:
    """The upstream parameters at the seeded AMIs, and each image's released bake made from them."""
    seed_upstream_parameters(session, config, seeded.upstream, region)
    bakes = seed_released_bakes(state_path, config, seeded, commits, region, session=session)
    tag_seeded_amis(session, config, seeded, bakes)


def tag_seeded_amis(session: Any, config: Config, seeded: Seeded, bakes: dict[str, Bake]) -> None:
    """Each seeded bakery AMI names its released bake as a bake's AMI does (§10), so /bake fleet and /bake revoke
    offer a Roll out button onto it; the upstream AMI base starts as is Amazon's and gets no bakery tags."""
    for name, bake in bakes.items():
        ami = seeded.images[name]
        if ami.ami_id in seeded.upstream.values():
            continue
        tags = {TAG_REQUEST_ID: bake.request_id, TAG_REQUESTED_BY: bake.requested_by, TAG_COMMIT: bake.commit_id}
        ec2 = session_in(session, ami.account_id, config.bakery_account).client("ec2", region_name=ami.region)
        ec2.create_tags(Resources=[ami.ami_id], Tags=[{"Key": k, "Value": v} for k, v in tags.items() if v])


def seed_upstream_parameters(session: Any, config: Config, upstream: dict[str, str], default_region: str) -> None:
    """Each watched image's parameter, in its region, names the region's seeded upstream AMI."""
    for image in config.images.values():
        if image.upstream:
            region = image.region or default_region
            session.client("ssm", region_name=region).put_parameter(
                Name=image.upstream.ssm_parameter, Value=upstream[region], Type="String", Overwrite=True
            )


def seed_released_bakes(
    state_path: Path,
    config: Config,
    seeded: Seeded,
    commits: dict[str, str],
    default_region: str,
    *,
    session: Any = None,
) -> dict[str, Bake]:
    """One released bake per image, before the bot starts: its seeded AMI (in its account, §13), made on its
    parent's seeded AMI or, for an image without a parent, on the upstream value at start.

    Its message is never posted (it is settled); `/bake status <image>` shows it. It carries no inputs
    fingerprint, so the first bake a person asks for is not refused as already baked.
    """
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    # In the configured store: the SQLite file, or the DynamoDB table replicas share (`session` reaches it).
    store = open_store(
        backend=config.state.backend, path=str(state_path), table=config.state.table, session_factory=lambda: session
    )
    bakes: dict[str, Bake] = {}
    try:
        for image in config.images.values():
            region = image.region or default_region
            parent = seeded.images.get(image.parent or "")
            bake = Bake(
                request_id=random_id("b"),
                image=image.name,
                requested_by=BAKERY_USER,
                requested_at=now,
                reason=SEEDED_REASON,
                channel=image.channel,
                pipeline=image.pipeline,
                source_ami=parent.ami_id if parent else seeded.upstream[region],
                status=BakeStatus.SUCCEEDED,
                commit_id=commits.get(image.name, ""),
                amis=(seeded.images[image.name],),
                updated_at=now,
                finished_at=now,
                settled=True,
            )
            doc = bake.to_doc()
            store.create(BAKE, bake.request_id, doc, index=bake_index(doc))
            note_recent(store, image.name, bake.request_id)
            record_latest(store, bake)
            bakes[image.name] = bake
    finally:
        store.close()
    return bakes


class UpstreamReleases:
    """Publishes a new upstream AMI as Amazon would: a new AMI, the parameter moved to it, a notice on the topic."""

    def __init__(self, session: Any, config: Config, topic_arn: str, default_region: str):
        self._session, self._config, self._topic_arn = session, config, topic_arn
        self._default_region = default_region
        self._count = 0
        self._lock = threading.Lock()

    def release(self, image_name: str) -> str:
        """The new AMI's id; ValueError, saying why, for an image that does not follow an upstream."""
        image = self._config.images.get(image_name)
        if image is None:
            known = ", ".join(sorted(self._config.images))
            raise ValueError(f"there is no image {image_name!r}; known images: {known}")
        if image.upstream is None:
            raise ValueError(f"image {image_name!r} has no upstream (only an image without a parent follows one)")
        region = image.region or self._default_region
        with self._lock:
            self._count += 1
            name = f"{UPSTREAM_AMI_NAME}-{self._count}"
        ec2 = self._session.client("ec2", region_name=region)
        ami_id = register_ami(ec2, name, {"Name": name, "bakery:upstream": "true"})
        self._session.client("ssm", region_name=region).put_parameter(
            Name=image.upstream.ssm_parameter, Value=ami_id, Type="String", Overwrite=True
        )
        # Amazon's notice names its release; the bot reads none of it (the parameter is the truth).
        notice = {"v1": {"Message": f"A new upstream AMI was released: {name}", "ImageIds": {region: ami_id}}}
        self._session.client("sns", region_name=self._topic_arn.split(":")[3]).publish(
            TopicArn=self._topic_arn, Subject="Amazon Linux AMI update", Message=json.dumps(notice)
        )
        log.info("sandbox.upstream_released image=%s ami_id=%s", image_name, ami_id)
        return ami_id

    def api(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """`POST /api/upstream {"image"}` → {"ami_id"}; 400 with a reason for an image that follows no upstream."""
        image = body.get("image")
        if not isinstance(image, str) or not image:
            return 400, {"error": 'the body must name an image: {"image": "base"}'}
        try:
            return 200, {"ami_id": self.release(image)}
        except ValueError as exc:
            return 400, {"error": str(exc)}
