"""A Socket Mode envelope delivered again (after a reconnect, Slack may) is handled once (bot/runtime/requests.py)."""

from __future__ import annotations

import json
import uuid

import pytest

from bot.app import TimedSocketModeHandler, build_app
from handlers.commands.bake import ALREADY_RECEIVED
from tests.fixtures.bakery import REQUESTER, git_log, slash_form
from tests.fixtures.waiting import wait_for, wait_idle


@pytest.fixture
def slack_api(linked_slack):
    """The bot's Slack is the one whose apps.connections.open leads to the local Socket Mode link."""
    return linked_slack


def test_a_socket_mode_envelope_delivered_again_is_handled_once(bakery_factory, socket_link, linked_slack):
    bakery = bakery_factory()
    app = build_app(bakery.bot, socket_mode=True)
    handler = TimedSocketModeHandler(app, linked_slack.app_token, metrics=bakery.bot.metrics)
    before = len(git_log(bakery.repos["base"]))
    form = slash_form(REQUESTER, "base CVE-3")
    envelope = {"envelope_id": str(uuid.uuid4()), "type": "slash_commands", "accepts_response_payload": True}
    handler.connect()
    try:
        assert socket_link.connected.wait(10)
        socket_link.send({**envelope, "payload": form})
        first = socket_link.reply(envelope["envelope_id"])
        # After a reconnect Slack may deliver the same envelope again (to any of the app's connections).
        socket_link.send({**envelope, "payload": form, "retry_attempt": 1, "retry_reason": "timeout"})
        again = socket_link.reply(envelope["envelope_id"])
    finally:
        handler.close()
    wait_for(lambda: len(git_log(bakery.repos["base"])) > before, 15, "the bake's commit")
    wait_idle(bakery.bot)
    assert len(git_log(bakery.repos["base"])) == before + 1
    texts = [json.dumps(first.get("payload")), json.dumps(again.get("payload"))]
    assert sum(ALREADY_RECEIVED in text for text in texts) <= 1, texts
