"""An upstream topic message only schedules the check: a slow SSM read holds up no pipeline message behind it,
and a burst of notices while a check runs costs one more check, never one per notice nor none."""

from __future__ import annotations

import json
import logging

import pytest

from bot.sandbox.aws.events import sns_envelope
from tests.fixtures.bakery import REQUESTER, Bakery
from tests.fixtures.slow_aws import SlowAwsProxy, slow_endpoint
from tests.trains.test_upstream_e2e import AMAZON, NOTICE, automatic_bakes, released_then_moved


@pytest.fixture
def slow_ssm(moto: str, monkeypatch: pytest.MonkeyPatch):
    """The bot's (and this test's) SSM endpoint, through a proxy that can hold GetParameter back."""
    with slow_endpoint("SSM", moto, monkeypatch.setenv) as proxy:
        yield proxy


@pytest.fixture
def moved(slow_ssm: SlowAwsProxy, bakery_factory) -> tuple[Bakery, str]:
    return released_then_moved(bakery_factory)  # after slow_ssm: the bot's SSM client goes through the proxy


def notice(bakery: Bakery) -> None:
    bakery.sqs.send_message(QueueUrl=bakery.queue_url, MessageBody=json.dumps(sns_envelope(NOTICE, topic_arn=AMAZON)))


def test_a_slow_parameter_read_does_not_delay_the_pipeline_message_behind_it(moved, slow_ssm):
    bakery, new = moved
    rid = bakery.command(REQUESTER, "web meanwhile")["text"].split("`")[1]
    execution = bakery.start_execution("web", bakery.commit_of(rid))
    gate = slow_ssm.gate("GetParameter")  # SSM answers nothing until the test says so

    notice(bakery)
    bakery.deliver(bakery.event(execution, "STARTED"))  # queued behind the notice

    bakery.wait(lambda: "GetParameter" in slow_ssm.held, what="the check, reading the parameter")
    web = bakery.wait(
        lambda: (b := bakery.services.bakes.get(rid)) and b.execution_id == execution and b,
        what="the pipeline message applied while the parameter read is still held",
    )
    assert not gate.is_set() and automatic_bakes(bakery) == []  # the check is still waiting on SSM
    assert web.execution_id == execution
    gate.set()
    [bake] = bakery.wait(lambda: automatic_bakes(bakery), what="the check's automatic bake of base")
    assert bake.source_ami == new


def test_a_burst_of_notices_during_a_check_costs_one_more_check(moved, slow_ssm, caplog):
    bakery, new = moved
    caplog.set_level(logging.INFO, logger="bot.trains.upstream")
    gate = slow_ssm.gate("GetParameter")

    notice(bakery)
    bakery.wait(lambda: "GetParameter" in slow_ssm.held, what="the first check, reading the parameter")
    for _ in range(10):
        notice(bakery)
    bakery.wait(bakery.queue_drained, what="the ten notices handled and deleted while the check is held")
    gate.set()
    bakery.wait(lambda: automatic_bakes(bakery), what="the automatic bake of base")
    bakery.wait_idle()

    checks = [r.getMessage() for r in caplog.records if r.getMessage().startswith("upstream.checked")]
    assert len(checks) == 2, checks  # the held one, and one for the whole burst (not lost, not ten)
    [bake] = automatic_bakes(bakery)
    assert bake.source_ami == new
