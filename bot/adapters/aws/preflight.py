"""`bakery check --aws`: that the AWS resources the configuration names exist and can be reached."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.aws.assumed import AssumedSessions, AssumeRoleRefused
from bot.adapters.aws.key_check import check_keys
from bot.adapters.aws.sqs import region_of_queue
from bot.config import Config, Environment, TargetConfig


def check_aws(config: Config, env: Environment, *, session: boto3.Session | None = None) -> list[str]:
    """One line per missing or unreachable resource, with the key path that names it."""
    session = session or boto3.Session(region_name=env.aws_region or None)
    if not (env.aws_region or session.region_name):
        # boto3 cannot make a client without a region: say which key needs one rather than end in a traceback.
        unplaced = [
            f"images.{name}.region: not set, and neither is AWS_REGION (or AWS_DEFAULT_REGION): cannot tell where "
            f"to look for {name}'s pipeline, repository and AMIs"
            for name, image in sorted(config.images.items())
            if not image.region
        ]
        if config.state.backend == "dynamodb":
            unplaced.append("state.table: AWS_REGION (or AWS_DEFAULT_REGION) is not set: the table's region is unknown")
        if unplaced:
            return unplaced
    problems: list[str] = []

    def probe(path: str, what: str, call: Callable[[], Any]) -> None:
        try:
            call()
        except ClientError as exc:
            err = exc.response.get("Error", {})
            problems.append(f"{path}: {what}: {err.get('Code', 'error')} ({err.get('Message', '')})")
        except (BotoCoreError, AssumeRoleRefused) as exc:
            problems.append(f"{path}: {what}: {exc}")

    own = session
    assumed = AssumedSessions(lambda region: own.client("sts", region_name=region), external_id=env.external_id)
    refused: set[str] = set()  # images whose role STS refused: their resources cannot be looked for
    for name, image in config.images.items():
        region = image.region or env.aws_region or None
        if image.account_role:
            # Everything else of this image is reached through its role (§13): a refusal is its one line.
            try:
                assumed.check(image.account_role, name, region)
            except AssumeRoleRefused as exc:
                problems.append(f"images.{name}.account_role: {exc}")
                refused.add(name)
                continue
            session = assumed.session(image.account_role, name, region)
        else:
            session = own
        codepipeline = session.client("codepipeline", region_name=region)
        probe(
            f"images.{name}.pipeline",
            f"pipeline {image.pipeline}",
            partial(codepipeline.get_pipeline, name=image.pipeline),
        )
        if image.repository.startswith("codecommit://"):
            repo = image.repository.removeprefix("codecommit://")
            codecommit = session.client("codecommit", region_name=region)
            probe(
                f"images.{name}.repository",
                f"CodeCommit repository {repo}",
                partial(codecommit.get_repository, repositoryName=repo),
            )
        if image.upstream:
            # The public parameter the upstream watch reads (§12), in the image's region.
            ssm = session.client("ssm", region_name=region)
            parameter = image.upstream.ssm_parameter
            probe(
                f"images.{name}.upstream.ssm_parameter",
                f"SSM parameter {parameter}",
                partial(ssm.get_parameter, Name=parameter),
            )
        if image.share_with:
            # The bakery key in each region the AMIs must be usable in, and what its policy grants (§13): the key
            # the release's copies are encrypted with (bot/trains/distribution.py): the bakery account's when it
            # is known, for a member image too; else the one of that alias in the image's own account.
            role = None if config.bakery_account else image.account_role

            def kms_in(r: str, role: str | None = role, n: str = name) -> Any:
                return (assumed.session(role, n, r) if role else own).client("kms", region_name=r)

            problems += check_keys(image, env.ami_key_alias, kms_in, env.aws_region or None, in_bakery=not role)
    session = own
    if config.notifications.queue_url:
        url = config.notifications.queue_url
        sqs = session.client("sqs", region_name=region_of_queue(url) or env.aws_region or None)
        probe(
            "notifications.queue_url",
            "SQS queue",
            lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"]),
        )
    for i, arn in enumerate(config.notifications.sns_topic_arns):
        sns = session.client("sns", region_name=arn.split(":")[3])
        probe(f"notifications.sns_topic_arns[{i}]", "SNS topic", partial(sns.get_topic_attributes, TopicArn=arn))
    if config.state.backend == "dynamodb":
        ddb = session.client("dynamodb", region_name=env.aws_region or None)
        probe(
            "state.table",
            f"DynamoDB table {config.state.table}",
            lambda: ddb.describe_table(TableName=config.state.table),
        )
    for name, target in config.targets.items():
        image = config.images[target.image]
        if image.name in refused:
            continue
        region = target.region or image.region or env.aws_region or None
        # A target is in its image's account (§13); a refused role was reported once, on the image.
        reach = assumed.session(image.account_role, image.name, region) if image.account_role else own
        asg = reach.client("autoscaling", region_name=region)

        def group(t: TargetConfig = target, c: Any = asg) -> None:
            found = c.describe_auto_scaling_groups(AutoScalingGroupNames=[t.auto_scaling_group])["AutoScalingGroups"]
            if not found:
                raise ClientError(
                    {"Error": {"Code": "NotFound", "Message": "no such group"}}, "DescribeAutoScalingGroups"
                )

        probe(f"targets.{name}.auto_scaling_group", f"Auto Scaling group {target.auto_scaling_group}", group)
    return problems
