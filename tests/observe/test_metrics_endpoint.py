"""GET /metrics of a running test bot, scraped as Prometheus would and parsed with prometheus_client's parser."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.domain.errors import ChatError
from bot.sandbox.aws.events import pipeline_event
from tests.fixtures.bakery import REQUESTER
from tests.test_bake_loop import request_id_of


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as reply:
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("text/plain; version=")  # the Prometheus text format
        text = reply.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def total(samples: dict, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


def test_metrics_after_a_failed_bake_and_a_slack_error(bakery):
    rid = request_id_of(bakery.command(REQUESTER, "base metrics"))
    commit = bakery.commit_of(rid)
    before = scrape(bakery.url)
    assert total(before, "bakery_bakes_active") == 1  # in flight: in the 'active' index
    assert value(before, "bakery_ack_seconds_count", kind="command") == 1
    assert value(before, "bakery_bakes_finished_total", state="failed") is None

    bakery.run_pipeline("base", commit, fail_stage="Bake")  # via SQS, in SNS envelopes
    def settled() -> dict | None:
        samples = scrape(bakery.url)
        return samples if value(samples, "bakery_bakes_finished_total", state="failed") else None

    after = bakery.wait(settled, what="the failed bake counted once its message settled")
    assert value(after, "bakery_bakes_finished_total", state="failed") == 1
    assert total(after, "bakery_bakes_active") == 0  # settled: out of the index
    read = value(after, "bakery_intake_lag_seconds_count")
    assert read >= 8  # each pipeline message read off the queue
    assert value(after, "bakery_intake_lag_seconds_bucket", le="+Inf") == read
    assert value(after, "bakery_dlq_messages", queue="ami-bakery-events-dlq") == 0  # read by the chore at start

    bakery.slack.fail("users.info", "user_not_found")
    with pytest.raises(ChatError):
        bakery.services.chat.user_name("U0NOBODY")
    errors = scrape(bakery.url)
    assert value(errors, "bakery_slack_errors_total", method="users.info", code="user_not_found") == 1
    assert value(errors, "bakery_lease_held") is None  # no leases wired yet: the series has no samples


def test_aws_errors_are_counted_by_service_operation_and_code(bakery_factory):
    bakery = bakery_factory()
    # A client made from the bot's session after it was built, like every client the bot makes on first use.
    sqs = bakery_factory.session.client("sqs")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="no-such-queue")
    samples = scrape(bakery.url)
    code = "AWS.SimpleQueueService.NonExistentQueue"
    assert value(samples, "bakery_aws_errors_total", service="sqs", operation="GetQueueUrl", code=code) == 1


def test_metrics_takes_get_and_healthz_still_answers(bakery):
    request = urllib.request.Request(f"{bakery.url}/metrics", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 405
    with urllib.request.urlopen(f"{bakery.url}/healthz", timeout=5) as reply:
        assert reply.status == 200


def test_a_delivery_over_https_tells_its_lag_from_the_sns_timestamp(bakery):
    before = value(scrape(bakery.url), "bakery_intake_lag_seconds_count")
    # A pipeline no image runs: read (and timed), then ignored.
    event = pipeline_event(pipeline="not-ours", execution_id="00000000-0000-4000-8000-000000000000", state="STARTED")
    bakery.deliver(event, via="sns-http")
    after = scrape(bakery.url)
    assert value(after, "bakery_intake_lag_seconds_count") == before + 1
    assert 0 <= value(after, "bakery_intake_lag_seconds_sum") < 60  # signed just now
