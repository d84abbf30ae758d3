"""Pipeline events in the shape AWS notification rules (CodeStar Notifications) send them, read as the same events.

The sample's shape (camel-cased `detailType`, `notificationRuleArn`, `resources`, `additionalAttributes`; no
`id`, no top-level `version`; `detail.version` a float) is copied from a FULL-detail CodePipeline notification
captured off SNS and published in mypojo/kx_kotlin_support,
light/src/test/kotlin/net/kotlinx/aws/sns/SnsCodePipelineSample.kt; AWS's own sample in the Developer Tools
console guide ("Notification concepts") could not be reached from here. Its values are those of our
codepipeline-action-failed.json, so the two files are one event in two shapes.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.domain.errors import BadMessage
from bot.intake.parse import parse_body, parse_notification
from tests.test_notifications import envelope

EVENTS = Path(__file__).parent.parent / "data" / "events"
SAMPLE = "codestar-notification-pipeline.json"


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def test_a_notification_rule_event_reads_as_the_same_event_as_its_eventbridge_twin():
    [eventbridge] = parse_notification(json.dumps(load("codepipeline-action-failed.json")))

    [event] = parse_notification(json.dumps(load(SAMPLE)))

    # The shape has no event id; everything else is the same record.
    assert event == replace(eventbridge, event_id="")


def test_a_notification_rule_event_published_to_the_topic_is_read_through_its_envelope():
    parsed = parse_body(envelope(load(SAMPLE)))

    assert parsed.envelope is not None
    assert [(e.level, e.stage, e.action, e.state) for e in parsed.items] == [
        ("action", "Test", "BootAndCheck", "FAILED")
    ]


def test_a_pipeline_level_notification_rule_event_with_no_additional_attributes_is_read():
    doc = copy.deepcopy(load(SAMPLE))
    doc["detailType"] = "CodePipeline Pipeline Execution State Change"
    doc["detail"] = {"pipeline": "ami-bakery-web", "execution-id": doc["detail"]["execution-id"], "state": "SUCCEEDED"}
    doc["detail"]["version"] = 8.0
    doc["additionalAttributes"] = {}

    [event] = parse_notification(json.dumps(doc))

    assert (event.level, event.state, event.stage) == ("pipeline", "SUCCEEDED", "")


def test_a_notification_rule_about_a_build_project_sharing_the_topic_is_skipped_not_refused():
    doc = copy.deepcopy(load(SAMPLE))
    doc["source"], doc["detailType"] = "aws.codebuild", "CodeBuild Build State Change"

    parsed = parse_body(envelope(doc))

    assert parsed.items == ()
    assert "notification-rule event" in parsed.ignored and "aws.codebuild" in parsed.ignored


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("notificationRuleArn", "arn:aws:sns:eu-west-1:123456789012:ami-bakery-events", ["notificationRuleArn"]),
        ("notificationRuleArn", 7, ["notificationRuleArn", "string"]),
        ("detailType", ["CodePipeline Action Execution State Change"], ["detailType", "string"]),
        ("time", "yesterday", ["time"]),
    ],
)
def test_a_malformed_notification_rule_event_is_refused_naming_the_field(key, value, words):
    doc = load(SAMPLE)
    doc[key] = value

    with pytest.raises(BadMessage) as err:
        parse_notification(json.dumps(doc))

    assert "the notification-rule event" in str(err.value)
    for word in words:
        assert word in str(err.value)


# --- over SNS and SQS, end to end ------------------------------------------------------------------


def _queue_is_empty(bakery) -> bool:
    counts = bakery.sqs.get_queue_attributes(
        QueueUrl=bakery.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(int(n) == 0 for n in counts.values())


def test_a_notification_rule_event_on_the_queue_is_applied_and_deleted_never_dead_lettered(bakery):
    from tests.fixtures.bakery import REQUESTER

    rid = bakery.command(REQUESTER, "base")["text"].split("`")[1]
    execution_id = bakery.start_execution("base", bakery.commit_of(rid))
    doc = load(SAMPLE)
    doc["detail"].update(pipeline="ami-bakery-base", **{"execution-id": execution_id})
    doc["resources"] = ["arn:aws:codepipeline:eu-west-1:123456789012:ami-bakery-base"]

    bakery.deliver(doc)  # as the rule publishes it: to the topic, which wraps it for the queue

    [reply] = bakery.wait(lambda: bakery.thread(rid), what="the failure reply in the bake's thread")
    assert "*Test*" in reply["text"] and "BootAndCheck" in reply["text"]
    bakery.wait(lambda: _queue_is_empty(bakery), what="the message deleted from the queue")
    assert bakery.sqs.receive_message(QueueUrl=bakery.dlq_url, WaitTimeSeconds=0).get("Messages", []) == []
