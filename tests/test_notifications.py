"""What the intake reads from SNS envelopes, raw SNS deliveries and bare EventBridge events."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bot.domain.errors import BadMessage
from bot.domain.models import Ami, ApprovalRequest, BakeResult, PipelineEvent
from bot.intake.parse import SnsEnvelope, parse_body, parse_notification

EVENTS = Path(__file__).parent / "data" / "events"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ami-bakery-events"
STARTED = "codepipeline-pipeline-started.json"
FAILED_ACTION = "codepipeline-action-failed.json"
EXECUTION = "5f0d2a4e-1c3b-4d6e-8f9a-0b1c2d3e4f50"


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def envelope(payload: dict[str, Any] | str, **extra: Any) -> str:
    """The JSON SNS puts on an SQS queue (non-raw delivery)."""
    doc = {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Message": payload if isinstance(payload, str) else json.dumps(payload),
        "Timestamp": "2026-11-26T09:14:22.123Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEpH+..",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
    }
    doc.update(extra)
    return json.dumps(doc)


def with_value(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of doc with the dotted path set to value (or removed when value is ...)."""
    doc = copy.deepcopy(doc)
    *parents, last = path.split(".")
    target = doc
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return doc


# --- CodePipeline events ---------------------------------------------------------------------------


def test_a_bare_pipeline_event_becomes_a_pipeline_level_event():
    [event] = parse_notification(json.dumps(load("codepipeline-pipeline-started.json")))

    assert event == PipelineEvent(
        level="pipeline",
        pipeline="ami-bakery-web",
        execution_id=EXECUTION,
        state="STARTED",
        time="2026-11-26T09:14:21Z",
        region="eu-west-1",
        account="123456789012",
        event_id="6c3c6a4e-8d5b-4a5c-9f1e-0b2f3d1a7e01",
    )


def test_a_stage_event_names_its_stage():
    [event] = parse_notification(json.dumps(load("codepipeline-stage-succeeded.json")))

    assert (event.level, event.stage, event.action, event.state) == ("stage", "Bake", "", "SUCCEEDED")


def test_a_failed_action_event_carries_the_category_link_and_summary():
    [event] = parse_notification(json.dumps(load("codepipeline-action-failed.json")))

    assert (event.level, event.stage, event.action) == ("action", "Test", "BootAndCheck")
    assert event.category == "Test"
    assert event.state == "FAILED"
    assert event.external_url.startswith("https://console.aws.amazon.com/codebuild/home?region=eu-west-1#/builds/")
    assert event.summary == "Build terminated with state: FAILED"


def test_a_rejected_approval_is_a_failed_approval_action_with_the_reviewers_summary():
    [event] = parse_notification(json.dumps(load("codepipeline-action-approval-rejected.json")))

    assert (event.category, event.state, event.external_url) == ("Approval", "FAILED", "")
    assert event.summary == "Rejected by U012ABCDEF via Slack"


def test_an_eventbridge_event_delivered_through_sns_is_read_with_its_envelope():
    parsed = parse_body(envelope(load("codepipeline-stage-succeeded.json")))

    assert parsed.envelope == SnsEnvelope(
        message_id="22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        topic_arn=TOPIC,
        timestamp="2026-11-26T09:14:22.123Z",
    )
    assert [(e.level, e.stage, e.state) for e in parsed.items] == [("stage", "Bake", "SUCCEEDED")]


def test_a_bare_event_has_no_envelope():
    assert parse_body(json.dumps(load("codepipeline-stage-succeeded.json"))).envelope is None


def test_bytes_are_read_like_text():
    body = json.dumps(load("codepipeline-pipeline-started.json"))

    assert parse_notification(body.encode()) == parse_notification(body)


def test_another_services_event_is_skipped_and_says_so():
    parsed = parse_body(json.dumps(load("ec2-instance-state-change.json")))

    assert parsed.items == ()
    assert "aws.ec2" in parsed.ignored


def test_another_codepipeline_detail_type_is_skipped_and_says_so():
    parsed = parse_body(envelope(load("codepipeline-rule-state-change.json")))

    assert parsed.items == ()
    assert "CodePipeline Rule Execution State Change" in parsed.ignored


def test_an_sns_subscription_confirmation_on_the_queue_is_skipped_not_failed():
    body = envelope("You have chosen to subscribe...", Type="SubscriptionConfirmation", Token="2336412f37")

    parsed = parse_body(body)

    assert parsed.items == ()
    assert "SubscriptionConfirmation" in parsed.ignored
    assert parsed.envelope is not None and parsed.envelope.topic_arn == TOPIC


# --- manual approvals ------------------------------------------------------------------------------


def test_a_raw_approval_notification_becomes_an_approval_request():
    [request] = parse_notification(json.dumps(load("approval-notification.json")))

    assert request == ApprovalRequest(
        region="eu-west-1",
        console_link="https://console.aws.amazon.com/codepipeline/home?region=eu-west-1#/view/ami-bakery-web",
        pipeline="ami-bakery-web",
        stage="Approve",
        action="Approve",
        token="1a2b3c4d-573f-4ea7-a67e-0123456789ab",
        expires="2026-12-03T10:02Z",
        external_link=(
            "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1"
            "#ImageDetails:imageId=ami-0123456789abcdef0"
        ),
        review_link=(
            "https://console.aws.amazon.com/codepipeline/home?region=eu-west-1#/view/ami-bakery-web/Approve/Approve"
            "/approve/1a2b3c4d-573f-4ea7-a67e-0123456789ab"
        ),
        custom_data="Review the test report of the new AMI, then approve or reject within seven days.",
    )


def test_an_enveloped_approval_keeps_the_sns_subject():
    subject = "APPROVAL NEEDED: AWS CodePipeline ami-bakery-web for action Approve"

    parsed = parse_body(envelope(load("approval-notification.json"), Subject=subject))

    assert parsed.envelope is not None and parsed.envelope.subject == subject
    assert isinstance(parsed.items[0], ApprovalRequest)


def test_an_approval_without_link_or_custom_data_reads_them_as_empty():
    doc = with_value(load("approval-notification.json"), "approval.externalEntityLink", ...)
    doc = with_value(doc, "approval.customData", None)

    [request] = parse_notification(json.dumps(doc))

    assert (request.external_link, request.custom_data) == ("", "")


# --- bake results ----------------------------------------------------------------------------------


def test_a_bake_result_becomes_a_bake_result_with_its_amis():
    [result] = parse_notification(envelope(load("bake-result.json")))

    assert isinstance(result, BakeResult)
    assert (result.image, result.request_id, result.status) == ("web", "b-7f3k2q", "succeeded")
    assert result.commit_id == "9b2c4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d"
    assert result.execution_id == EXECUTION
    assert result.amis == (Ami(region="eu-west-1", ami_id="ami-0123456789abcdef0", account_id="123456789012"),)
    assert result.log_url.startswith("https://console.aws.amazon.com/codebuild/")


def test_a_failed_bake_result_may_list_no_amis():
    doc = with_value(with_value(load("bake-result.json"), "status", "failed"), "amis", [])

    [result] = parse_notification(json.dumps(doc))

    assert (result.status, result.amis) == ("failed", ())


# --- malformed bodies ------------------------------------------------------------------------------


def assert_bad(body: str | bytes, *words: str) -> None:
    with pytest.raises(BadMessage) as caught:
        parse_body(body)
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize(
    ("name", "path", "value", "words"),
    [
        (STARTED, "detail.execution-id", ..., ["detail.execution-id", "missing"]),
        (STARTED, "detail.pipeline", 42, ["detail.pipeline", "string"]),
        (STARTED, "detail.execution-id", "../../etc", ["detail.execution-id"]),
        (STARTED, "detail.state", "started; drop", ["detail.state"]),
        (STARTED, "detail", "STARTED", ["detail", "object"]),
        (STARTED, "time", "2026-02-30T09:14:21Z", ["time", "date"]),
        (STARTED, "account", "12345", ["account"]),
        (STARTED, "detail.pipeline", "p" * 101, ["detail.pipeline"]),
        (STARTED, "detail.pipeline", "", ["detail.pipeline"]),
        ("codepipeline-stage-succeeded.json", "detail.stage", ..., ["detail.stage", "missing"]),
        (FAILED_ACTION, "detail.type", ..., ["detail.type", "missing"]),
        (
            FAILED_ACTION,
            "detail.execution-result.external-execution-url",
            "javascript:alert(1)",
            ["external-execution-url", "link"],
        ),
        (FAILED_ACTION, "detail.execution-result.external-execution-summary", "x" * 9000, ["longer"]),
        ("approval-notification.json", "approval.token", ..., ["approval.token", "missing"]),
        ("approval-notification.json", "approval.expires", "next week", ["approval.expires"]),
        ("approval-notification.json", "approval.expires", "2026-02-30T09:14Z", ["approval.expires", "date"]),
        ("approval-notification.json", "approval.expires", "2026-12-03T10:02", ["approval.expires", "UTC"]),
        ("approval-notification.json", "consoleLink", "ftp://example.com/x", ["consoleLink", "link"]),
        ("approval-notification.json", "consoleLink", "https://[fe80::1", ["consoleLink", "link"]),
        ("approval-notification.json", "approval.customData", "half a pair: \ud800", ["customData", "Unicode"]),
        ("bake-result.json", "version", 2, ["version", "only version 1"]),
        ("bake-result.json", "version", True, ["version"]),
        ("bake-result.json", "status", "maybe", ["status"]),
        ("bake-result.json", "amis", [], ["no AMIs"]),
        ("bake-result.json", "amis.0.ami_id", "ami-XYZ", ["amis[0].ami_id"]),
        ("bake-result.json", "amis", [["eu-west-1", "ami-0123456789abcdef0"]], ["amis[0]", "object"]),
        ("bake-result.json", "request_id", "b-7f3k2q\n", ["request_id"]),
        ("bake-result.json", "commit_id", "HEAD", ["commit_id"]),
    ],
)
def test_a_field_of_the_wrong_type_shape_or_size_is_refused_naming_the_field(name, path, value, words):
    assert_bad(json.dumps(with_value(load(name), path, value)), *words)


def test_a_body_that_is_not_json_is_refused():
    assert_bad("<html>not json</html>", "not valid JSON", "line 1, column 1")


def test_a_body_that_is_not_utf8_is_refused():
    assert_bad(b'{"source": "\xff"}', "UTF-8")


def test_an_sns_message_that_is_half_a_surrogate_pair_is_refused_not_crashed_on():
    assert_bad(envelope("\ud800"), "Message", "Unicode")


def test_an_sns_message_that_is_json_but_not_an_object_is_refused():
    assert_bad(envelope("null"), "SNS Message", "null")


def test_a_json_list_is_refused():
    assert_bad("[]", "list", "not an object")


def test_nan_is_refused_as_not_json():
    assert_bad('{"type": "bakery.bake-result", "version": NaN}', "NaN")


def test_deeply_nested_json_is_refused():
    assert_bad("[" * 100_000 + "]" * 100_000, "deeply")


def test_an_unknown_shape_is_refused():
    assert_bad(json.dumps({"hello": "world"}), "none of the shapes")


def test_a_raw_body_over_256_kib_is_refused():
    doc = load("codepipeline-pipeline-started.json")
    doc["padding"] = "x" * (256 * 1024)

    assert_bad(json.dumps(doc), "256 KiB")


def test_an_sns_message_over_256_kib_is_refused():
    doc = load("codepipeline-pipeline-started.json")
    doc["padding"] = "x" * (256 * 1024)

    assert_bad(envelope(doc), "The SNS Message", "256 KiB")


def test_an_envelope_over_512_kib_is_refused():
    assert_bad(envelope("x" * (512 * 1024)), "The message body", "512 KiB")


def test_an_sns_message_that_is_not_json_is_refused():
    assert_bad(envelope("Pipeline ami-bakery-web failed"), "SNS Message", "not valid JSON")


def test_an_envelope_without_a_topic_arn_is_refused():
    doc = json.loads(envelope(load("bake-result.json")))
    del doc["TopicArn"]

    assert_bad(json.dumps(doc), "TopicArn", "missing")


def test_an_envelope_of_an_unknown_type_is_refused():
    assert_bad(envelope(load("bake-result.json"), Type="Telegram"), "unknown Type")


def test_an_envelope_inside_an_envelope_is_refused():
    assert_bad(envelope(envelope(load("bake-result.json"))), "only one level")


def test_an_eventbridge_event_with_a_non_string_source_is_refused():
    doc = with_value(load("ec2-instance-state-change.json"), "source", ["aws.ec2"])

    assert_bad(json.dumps(doc), "source")
