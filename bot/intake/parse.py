"""Read one intake message (SNS envelope, raw SNS delivery, EventBridge or notification-rule event) into records."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.domain.errors import BadMessage
from bot.domain.models import (
    MAX_BODY_BYTES,
    MAX_PAYLOAD_BYTES,
    REQUEST_ID_RE,
    Ami,
    ApprovalRequest,
    BakeResult,
    Notification,
    PipelineEvent,
)
from bot.intake.fields import Fields, check_size, kind, load_json, quote

CODEPIPELINE_SOURCE = "aws.codepipeline"
EVENT_LEVELS = {
    "CodePipeline Pipeline Execution State Change": "pipeline",
    "CodePipeline Stage Execution State Change": "stage",
    "CodePipeline Action Execution State Change": "action",
}
BAKE_RESULT_TYPE = "bakery.bake-result"
BAKE_RESULT_STATUSES = frozenset({"succeeded", "failed"})
SNS_TYPES = frozenset({"Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"})

# Identifier patterns, from the CodePipeline / SNS / EC2 API references where they give one. [0-9], not \d,
# which also matches non-ASCII digits.
NAME_RE = re.compile(r"[A-Za-z0-9.@_-]{1,100}")  # pipeline, stage and action names
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
EVENT_ID_RE = re.compile(r"[A-Za-z0-9-]{1,64}")
SNS_MESSAGE_ID_RE = re.compile(r"[A-Za-z0-9-]{1,100}")
TOKEN_RE = re.compile(r"[A-Za-z0-9-]{1,128}")
REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
ACCOUNT_RE = re.compile(r"[0-9]{12}")
STATE_RE = re.compile(r"[A-Z][A-Z_]{1,31}")
CATEGORY_RE = re.compile(r"[A-Za-z]{1,32}")
# The pattern CodeStar Notifications' API reference gives for a rule's ARN, with [0-9] for \d.
NOTIFICATION_RULE_ARN_RE = re.compile(
    r"arn:aws[^:\s]*:codestar-notifications:[^:\s]+:[0-9]{12}:notificationrule/(.*\S)?"
)
TOPIC_ARN_RE = re.compile(r"arn:aws(-[a-z]+)*:sns:[a-z0-9-]{1,32}:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
IMAGE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
COMMIT_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256 git object ids
AMI_RE = re.compile(r"ami-[0-9a-f]{8,17}")
MAX_AMIS = 50


@dataclass(frozen=True)
class SnsEnvelope:
    """The SNS wrapping of a message: its MessageId is the key that spots a duplicate delivery."""

    message_id: str
    topic_arn: str
    timestamp: str
    subject: str = ""


@dataclass(frozen=True)
class Parsed:
    """What one body holds: its SNS envelope (None when it came bare) and the records read from it.

    `items` is empty only for shapes we deliberately skip (another event source, another detail-type, an SNS
    subscription message); `ignored` then says which, so the caller can log it. Malformed bodies raise.
    """

    envelope: SnsEnvelope | None
    items: tuple[Notification, ...] = ()
    ignored: str = ""


def parse_notification(body: str | bytes) -> list[Notification]:
    """The records in one intake body; [] when it is a shape we skip; BadMessage when it is malformed."""
    return list(parse_body(body).items)


def parse_body(body: str | bytes) -> Parsed:
    """The body's SNS envelope (if any) and records; BadMessage, saying what is wrong, when it is malformed."""
    doc = load_json(body, limit=MAX_BODY_BYTES, what="The message body")
    if not isinstance(doc, dict):
        raise BadMessage(f"The message body is a JSON {kind(doc)}, not an object.")
    if _is_envelope(doc):
        return _parse_envelope(doc)
    check_size(body, MAX_PAYLOAD_BYTES, "The message body")
    items, ignored = _parse_payload(doc)
    return Parsed(envelope=None, items=items, ignored=ignored)


# --- the SNS envelope ------------------------------------------------------------------------------


def _parse_envelope(doc: dict[str, Any]) -> Parsed:
    f = Fields(doc, "the SNS envelope")
    sns_type = f.text("Type")
    if sns_type not in SNS_TYPES:
        raise BadMessage(f"The SNS envelope has an unknown Type {quote(sns_type)}.")
    envelope = SnsEnvelope(
        message_id=f.text("MessageId", SNS_MESSAGE_ID_RE),
        topic_arn=f.text("TopicArn", TOPIC_ARN_RE),
        timestamp=f.time("Timestamp"),
        subject=f.optional_text("Subject", limit=100),
    )
    if sns_type != "Notification":
        # Cross-account SQS subscriptions receive these; confirming is an operator's step, not the intake's.
        return Parsed(envelope=envelope, ignored=f"an SNS {sns_type} for {envelope.topic_arn}")
    message = f.text("Message", limit=None)
    payload = load_json(message, limit=MAX_PAYLOAD_BYTES, what="The SNS Message")
    if not isinstance(payload, dict):
        raise BadMessage(f"The SNS Message is a JSON {kind(payload)}, not an object.")
    if _is_envelope(payload):
        raise BadMessage("The SNS Message is itself an SNS envelope; only one level of wrapping is read.")
    items, ignored = _parse_payload(payload)
    return Parsed(envelope=envelope, items=items, ignored=ignored)


def _is_envelope(doc: dict[str, Any]) -> bool:
    # "Type" alone is not enough: a payload may carry its own; SNS always adds TopicArn and MessageId.
    return "Type" in doc and ("TopicArn" in doc or "MessageId" in doc)


# --- the payloads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _EventShape:
    """Where a pipeline event's shapes differ: EventBridge's own, or AWS notification rules' rewrite of it."""

    where: str
    what: str
    detail_type_key: str
    event_id_key: str  # "" when the shape carries no event id


EVENTBRIDGE = _EventShape("the EventBridge event", "an EventBridge event", "detail-type", "id")
# CodeStar Notifications (notification rules) send the same event camel-cased, with `notificationRuleArn`,
# `additionalAttributes` and no `id` or `version`. Duplicates are still caught by the reducer.
NOTIFICATION_RULE = _EventShape("the notification-rule event", "a notification-rule event", "detailType", "")


def _parse_payload(doc: dict[str, Any]) -> tuple[tuple[Notification, ...], str]:
    if "detail-type" in doc and "source" in doc:
        return _parse_event(doc, EVENTBRIDGE)
    if "detailType" in doc and "notificationRuleArn" in doc:
        return _parse_event(doc, NOTIFICATION_RULE)
    if "approval" in doc and "consoleLink" in doc:
        return (_parse_approval(doc),), ""
    if doc.get("type") == BAKE_RESULT_TYPE:
        return (_parse_bake_result(doc),), ""
    raise BadMessage(
        "The message is none of the shapes the bakery reads (a CodePipeline EventBridge or notification-rule "
        "event, a manual-approval notification or a bake result)."
    )


def _parse_event(doc: dict[str, Any], shape: _EventShape) -> tuple[tuple[Notification, ...], str]:
    f = Fields(doc, shape.where)
    source = f.text("source", limit=256)
    detail_type = f.text(shape.detail_type_key, limit=256)
    if shape is NOTIFICATION_RULE:
        f.text("notificationRuleArn", NOTIFICATION_RULE_ARN_RE, limit=2048)
    # Someone else's events on a shared bus or topic are not our business: skipped, not failed. So are a
    # notification rule's CodeBuild or CodeCommit events, should one share the topic.
    if source != CODEPIPELINE_SOURCE:
        return (), f"{shape.what} from {quote(source)}"
    level = EVENT_LEVELS.get(detail_type)
    if level is None:
        return (), f"a CodePipeline event of detail-type {quote(detail_type)}"
    detail = f.object("detail")
    stage = detail.text("stage", NAME_RE) if level in ("stage", "action") else ""
    action = detail.text("action", NAME_RE) if level == "action" else ""
    category = detail.object("type").text("category", CATEGORY_RE) if level == "action" else ""
    result = detail.optional_object("execution-result")
    event = PipelineEvent(
        level=level,
        pipeline=detail.text("pipeline", NAME_RE),
        execution_id=detail.text("execution-id", UUID_RE),
        state=detail.text("state", STATE_RE),
        time=f.time("time"),
        # The envelope's region is the pipeline's; an action's detail.region is where the action ran.
        region=f.text("region", REGION_RE),
        account=f.text("account", ACCOUNT_RE),
        stage=stage,
        action=action,
        category=category,
        external_url=result.optional_url("external-execution-url") if result else "",
        summary=result.optional_text("external-execution-summary") if result else "",
        event_id=f.text(shape.event_id_key, EVENT_ID_RE) if shape.event_id_key else "",
    )
    return (event,), ""


def _parse_approval(doc: dict[str, Any]) -> ApprovalRequest:
    f = Fields(doc, "the approval notification")
    approval = f.object("approval")
    return ApprovalRequest(
        region=f.text("region", REGION_RE),
        console_link=f.url("consoleLink"),
        pipeline=approval.text("pipelineName", NAME_RE),
        stage=approval.text("stageName", NAME_RE),
        action=approval.text("actionName", NAME_RE),
        token=approval.text("token", TOKEN_RE),
        expires=approval.time("expires"),
        external_link=approval.optional_url("externalEntityLink"),
        review_link=approval.optional_url("approvalReviewLink"),
        custom_data=approval.optional_text("customData"),
    )


def _parse_bake_result(doc: dict[str, Any]) -> BakeResult:
    f = Fields(doc, "the bake result")
    version = doc.get("version")
    if type(version) is not int or version != 1:  # bool is an int too; only the number 1 is version 1
        raise BadMessage(f"The bake result has version {quote(version)}; only version 1 is read.")
    status = f.text("status", limit=32)
    if status not in BAKE_RESULT_STATUSES:
        raise BadMessage(f"The bake result's status {quote(status)} is not one of: succeeded, failed.")
    amis = tuple(_parse_ami(item) for item in f.objects("amis", limit=MAX_AMIS))
    if status == "succeeded" and not amis:
        raise BadMessage("The bake result says succeeded but lists no AMIs.")
    return BakeResult(
        image=f.text("image", IMAGE_RE),
        request_id=f.text("request_id", REQUEST_ID_RE),
        commit_id=f.text("commit_id", COMMIT_RE),
        pipeline=f.text("pipeline", NAME_RE),
        execution_id=f.text("execution_id", UUID_RE),
        status=status,
        amis=amis,
        log_url=f.optional_url("log_url"),
    )


def _parse_ami(item: Fields) -> Ami:
    return Ami(
        region=item.text("region", REGION_RE),
        ami_id=item.text("ami_id", AMI_RE),
        account_id=item.optional_text("account_id", ACCOUNT_RE),
    )
