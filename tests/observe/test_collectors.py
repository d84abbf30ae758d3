"""The collectors read at scrape time, the ack kinds, and the DLQ depth, each on its own."""

from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families

from bot.adapters.aws.sns_http import seconds_since
from bot.adapters.aws.sqs import dlq_depth
from bot.app import socket_kind
from bot.observe.metrics import LeaseHolders, Metrics
from bot.server import inspect_slack_body
from bot.state import open_store
from bot.wiring.observing import dlq_chores, watch_store


def samples(metrics: Metrics) -> dict:
    text = metrics.exposition()[0].decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_lease_holders_come_from_the_callable_at_each_scrape():
    held = {"publisher": True, "sqs-intake": False}
    metrics = Metrics()
    metrics.watch(LeaseHolders(lambda: held))
    assert samples(metrics)[("bakery_lease_held", (("lease", "publisher"),))] == 1
    assert samples(metrics)[("bakery_lease_held", (("lease", "sqs-intake"),))] == 0
    held["sqs-intake"] = True  # taken over since the last scrape
    assert samples(metrics)[("bakery_lease_held", (("lease", "sqs-intake"),))] == 1


def test_records_by_state_read_the_active_index_of_each_kind(tmp_path):
    store = open_store(backend="sqlite", path=str(tmp_path / "state.db"), table="", session_factory=None)
    store.create("bake", "b-1", {"status": "running"}, index="active")
    store.create("bake", "b-2", {"status": "running"}, index="active")
    store.create("bake", "b-3", {"status": "succeeded"}, index=None)  # settled: not in the index
    store.create("rollout", "r-1", {"status": "awaiting_approval"}, index="active")
    store.create("train", "t-1", {"finished_at": ""}, index="active")
    store.create("train", "t-2", {"finished_at": "2026-12-01T10:00:00Z"}, index="active")
    found = samples(watch_store(Metrics(), store))
    assert found[("bakery_bakes_active", (("state", "running"),))] == 2
    assert ("bakery_bakes_active", (("state", "succeeded"),)) not in found
    assert found[("bakery_rollouts_active", (("state", "awaiting_approval"),))] == 1
    assert found[("bakery_trains_active", (("state", "running"),))] == 1
    assert found[("bakery_trains_active", (("state", "finished"),))] == 1
    store.close()


def test_ack_kinds_of_http_bodies_and_socket_envelopes():
    def form(doc: dict) -> bytes:
        from urllib.parse import urlencode

        return urlencode({"payload": json.dumps(doc)}).encode()

    user = {"id": "U1"}
    click = {"type": "block_actions", "user": user, "actions": [{"action_id": "approve"}]}
    assert inspect_slack_body(b"command=%2Fbake&text=list", "application/x-www-form-urlencoded") == (None, "command")
    assert inspect_slack_body(form(click), "application/x-www-form-urlencoded") == (None, "action")
    view = {"type": "view_submission", "user": user, "view": {}}
    assert inspect_slack_body(form(view), "application/x-www-form-urlencoded") == (None, "view")
    assert inspect_slack_body(b'{"type": "event_callback"}', "application/json") == (None, "event")
    assert socket_kind("slash_commands", {}) == "command"
    assert socket_kind("interactive", {"type": "view_closed"}) == "view"
    assert socket_kind("interactive", {"type": "block_actions"}) == "action"
    assert socket_kind("events_api", {}) == "event"


def test_sns_lag_is_read_from_the_timestamp_only_when_it_is_one():
    assert seconds_since("2000-01-01T00:00:00.000Z") > 365 * 86400
    assert seconds_since("not a time") is None
    assert seconds_since("2026-12-01T10:00:00") is None  # no zone: not what SNS sends
    assert seconds_since(None) is None


def test_the_dlq_depth_chore_reads_the_redrive_policy_target(moto):
    from tests.fixtures.aws import new_session

    sqs = new_session("eu-west-1").client("sqs")
    dlq = sqs.create_queue(QueueName="obs-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "2"})
    queue = sqs.create_queue(QueueName="obs-events", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    plain = sqs.create_queue(QueueName="obs-plain")["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=dlq, MessageBody=f"poison {n}")
    assert dlq_depth(sqs, queue) == ("obs-dlq", 3)
    assert dlq_depth(sqs, plain) is None
    metrics = Metrics()
    (chore,) = dlq_chores(metrics, lambda url: sqs, queue)
    chore.run()
    assert samples(metrics)[("bakery_dlq_messages", (("queue", "obs-dlq"),))] == 3
    assert dlq_chores(metrics, lambda url: sqs, None) == []
