"""Builds the messages AWS sends about a pipeline, in AWS's exact shapes, for the sandbox and the tests.

EventBridge CodePipeline events, manual-approval notifications, the build's bake result, and the SNS
envelope around any of them (unsigned; `SnsSigner` in the tests signs one).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

DETAIL_TYPES = {
    "pipeline": "CodePipeline Pipeline Execution State Change",
    "stage": "CodePipeline Stage Execution State Change",
    "action": "CodePipeline Action Execution State Change",
}
# The action type of each bakery stage's action, as CodePipeline reports it.
ACTION_TYPES = {
    "Source": ("Source", "CodeCommit"),
    "Validate": ("Build", "CodeBuild"),
    "Bake": ("Build", "CodeBuild"),
    "Test": ("Test", "CodeBuild"),
    "Approve": ("Approval", "Manual"),
    "Publish": ("Invoke", "Lambda"),
}


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pipeline_event(
    *,
    pipeline: str,
    execution_id: str,
    state: str,
    stage: str = "",
    action: str = "",
    time: str | None = None,
    region: str = "eu-west-1",
    account: str = "123456789012",
    category: str | None = None,
    provider: str | None = None,
    external_url: str = "",
    summary: str = "",
    trigger_type: str = "CloudWatchEvent",
) -> dict[str, Any]:
    """One CodePipeline EventBridge event; the level is given by which of stage/action are set."""
    level = "action" if action else "stage" if stage else "pipeline"
    detail: dict[str, Any] = {"pipeline": pipeline, "version": 1, "execution-id": execution_id, "state": state}
    if level == "pipeline":
        detail["execution-trigger"] = {"trigger-type": trigger_type, "trigger-detail": ""}
    if stage:
        detail["stage"] = stage
    if action:
        default_category, default_provider = ACTION_TYPES.get(stage, ("Build", "CodeBuild"))
        detail.update(
            action=action,
            region=region,
            type={
                "owner": "AWS",
                "category": category or default_category,
                "provider": provider or default_provider,
                "version": "1",
            },
        )
        if external_url or summary:
            result: dict[str, str] = {"external-execution-id": str(uuid.uuid4())}
            if external_url:
                result["external-execution-url"] = external_url
            if summary:
                result["external-execution-summary"] = summary
            detail["execution-result"] = result
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPES[level],
        "source": "aws.codepipeline",
        "account": account,
        "time": time or now_iso(),
        "region": region,
        "resources": [f"arn:aws:codepipeline:{region}:{account}:{pipeline}"],
        "detail": detail,
    }


def approval_notification(
    *,
    pipeline: str,
    stage: str,
    action: str,
    token: str,
    expires: str,
    region: str = "eu-west-1",
    custom_data: str = "",
    external_link: str = "",
    console_link: str = "",
) -> dict[str, Any]:
    """CodePipeline's approval notification; `console_link` replaces its console link (the sandbox's own view)."""
    console = (
        console_link or f"https://console.aws.amazon.com/codesuite/codepipeline/pipelines/{pipeline}/view?region={region}"
    )
    approval: dict[str, Any] = {
        "pipelineName": pipeline,
        "stageName": stage,
        "actionName": action,
        "token": token,
        "expires": expires,
        "approvalReviewLink": f"https://console.aws.amazon.com/codesuite/codepipeline/pipelines/{pipeline}"
        f"/view?region={region}#/{stage}/{action}/approve/{token}",
    }
    if external_link:
        approval["externalEntityLink"] = external_link
    if custom_data:
        approval["customData"] = custom_data
    return {"region": region, "consoleLink": console, "approval": approval}


def bake_result(
    *,
    image: str,
    request_id: str,
    commit_id: str,
    pipeline: str,
    execution_id: str,
    amis: list[tuple[str, str]],
    status: str = "succeeded",
    account: str = "123456789012",
    log_url: str = "",
) -> dict[str, Any]:
    return {
        "type": "bakery.bake-result",
        "version": 1,
        "image": image,
        "request_id": request_id,
        "commit_id": commit_id,
        "pipeline": pipeline,
        "execution_id": execution_id,
        "status": status,
        "amis": [{"region": r, "ami_id": a, "account_id": account} for r, a in amis],
        "log_url": log_url,
    }


def sns_envelope(message: dict[str, Any] | str, *, topic_arn: str, subject: str | None = None) -> dict[str, Any]:
    """The SNS Notification envelope around a message (unsigned)."""
    region = topic_arn.split(":")[3]
    envelope = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic_arn,
        "Message": message if isinstance(message, str) else json.dumps(message),
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "SignatureVersion": "2",
        "Signature": "",
        "SigningCertURL": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-0000000000000000.pem",
        "UnsubscribeURL": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}:x",
    }
    if subject is not None:
        envelope["Subject"] = subject
    return envelope


class TopicPublisher:
    """Publishes messages to the bakery's SNS topic, where EventBridge and the build would."""

    def __init__(self, session: Any, topic_arn: str):
        self.topic_arn = topic_arn
        self.account = topic_arn.split(":")[4]
        self._sns = session.client("sns", region_name=topic_arn.split(":")[3])

    def publish(self, message: dict[str, Any], subject: str | None = None) -> None:
        extra = {"Subject": subject[:100]} if subject else {}
        self._sns.publish(TopicArn=self.topic_arn, Message=json.dumps(message), **extra)
